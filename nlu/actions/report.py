"""Details of an uploaded report (P4.4): the date, the institution and remarks, asked after
the photo arrives; the patient confirms what OCR could not read."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models.enums import ActorType
from bot.services import audit
from bot.services import reports as report_service

from . import forms, gate, parsing

FORM = "report_form"
NO_REMARKS = {"无", "没有", "没", "不用", "跳过", "无备注", "没有备注"}


def _patient(tracker: Tracker) -> int | None:
    value = gate.metadata(tracker).get("active_patient_id")
    return int(value) if value else None


def refusal(tracker: Tracker) -> str | None:
    if refused := gate.refusal_for_patient_feature(tracker):
        return refused
    patient_id = _patient(tracker)
    if patient_id is None:
        return "请先在菜单“我的”中绑定就诊人，再补充报告信息。"
    with container().uow() as uow:
        if report_service.awaiting_details(uow.session, patient_id) is None:
            return "没有待补充信息的报告。请先拍照上传检验检查报告。"
    return None


class ValidateReportForm(forms.ChatForm):
    form = FORM
    slots = ("r_date", "r_institution", "r_remarks")

    def permitted(self, tracker: Tracker) -> bool:
        return refusal(tracker) is None

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        return {
            "r_date": gate.entity(tracker, "date"),
            "r_institution": gate.entity(tracker, "institution"),
        }

    def validate_r_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        today = forms.today()
        day = parsing.relative_date(str(value), today)
        if day is None or day > today or (today - day).days > 3650:
            dispatcher.utter_message(
                text="报告日期应是今天或以前（10年内）的日期，如“昨天”“11月20日”“2026-11-20”。"
            )
            return {"r_date": None}
        return {"r_date": day.isoformat()}

    def validate_r_institution(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.text_value(
            "r_institution", value, dispatcher, what="出具报告的医院", min_len=2, max_len=60
        )

    def validate_r_remarks(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = parsing.normalise(str(value))
        if text.rstrip("。.") in NO_REMARKS:
            return {"r_remarks": "无"}
        return forms.text_value("r_remarks", text, dispatcher, what="备注", max_len=200)


class ActionSubmitReport(forms.SubmitAction):
    form = FORM

    def refusal(self, tracker: Tracker) -> str | None:
        return refusal(tracker)

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        patient_id = _patient(tracker)
        assert patient_id is not None
        account = gate.metadata(tracker).get("account_id")
        remarks = tracker.get_slot("r_remarks")
        with container().uow() as uow:
            report = report_service.awaiting_details(uow.session, patient_id)
            assert report is not None
            report_service.confirm_details(
                uow.session,
                report,
                report_date=parsing.relative_date(str(tracker.get_slot("r_date")), forms.today())
                or forms.today(),
                institution_name=str(tracker.get_slot("r_institution")),
                remarks=None if remarks == "无" else remarks,
                actor=audit.Actor(ActorType.PATIENT, account),
            )
            uow.commit()
            text = (
                f"报告信息已保存：{report.report_date:%Y年%m月%d日}，{report.institution_name}。"
                "可在“历史记录”中查看。"
            )
        dispatcher.utter_message(text=text)


class ActionReceiveReport(Action):
    """A photo from a patient is kept as a report awaiting its details (P4.1); the report
    form then asks for them. Refusals are left to the form's submit action, said once."""

    def name(self) -> str:
        return "action_receive_report"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if gate.is_clinician(tracker) or (patient_id := _patient(tracker)) is None:
            return []
        if gate.entity(tracker, "media_error"):
            dispatcher.utter_message(text="照片没有收到（可能已过期），请重新拍照发送。")
            return []
        path, sha256 = gate.entity(tracker, "media_path"), gate.entity(tracker, "sha256")
        if not path or not sha256:
            return []
        account = gate.metadata(tracker).get("account_id")
        with container().uow() as uow:
            report, created = report_service.receive(
                uow.session,
                patient_id,
                image_path=str(path),
                image_sha256=str(sha256),
                account_id=account,
                actor=audit.Actor(ActorType.PATIENT, account),
            )
            uow.commit()
        if not created:
            dispatcher.utter_message(text="这张报告已上传过，请补充或核对它的信息。")
        else:
            dispatcher.utter_message(text="已收到报告照片，请补充几项信息。")
        return []
