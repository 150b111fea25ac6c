"""Report photos (P4.1, P6.2): a photo sent in chat becomes a report of the active 就诊人 and
is read by OCR on the ``reports`` queue; "我的报告" lists the patient's reports with a link to
each report page, where the patient checks and corrects what was read (P4.2, P4.4)."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

import redis
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.jobs.queues import enqueue_report
from bot.models import Patient
from bot.models.enums import ActorType, OcrStatus
from bot.ocr.images import BadImage, open_photo
from bot.services import audit
from bot.services import reports as report_service

from . import gate
from .account import bind_card

LISTED = 5  # reports named in chat; the rest on the H5 list


def _patient(tracker: Tracker) -> int | None:
    value = gate.metadata(tracker).get("active_patient_id")
    return int(value) if value else None


class ActionReceiveReport(Action):
    """A photo from a patient becomes a report of the active 就诊人 and is read by OCR on the
    ``reports`` queue (P4.1, P4.3): the chat answers at once, the result card follows. A file
    that is no photo (a GIF, a broken or oversized one) is refused here, nothing saved."""

    def name(self) -> str:
        return "action_receive_report"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if gate.is_clinician(tracker):
            return []
        if refused := gate.refusal_for_patient_feature(tracker):  # a new agreement first
            dispatcher.utter_message(text=f"照片未保存，同意后请重新发送。\n{refused}")
            return []
        patient_id = _patient(tracker)
        if patient_id is None:
            dispatcher.utter_message(
                text="收到照片。要上传检验检查报告，请先在菜单“我的”中绑定就诊人，再发送照片。"
            )
            return []
        if gate.entity(tracker, "media_error"):
            dispatcher.utter_message(text="照片没有收到（可能已过期），请重新拍照发送。")
            return []
        path, sha256 = gate.entity(tracker, "media_path"), gate.entity(tracker, "sha256")
        if not path or not sha256:
            return []
        try:
            open_photo(Path(str(path)).read_bytes())
        except (BadImage, OSError) as exc:
            reason = exc.reason if isinstance(exc, BadImage) else "照片没有保存成功"
            dispatcher.utter_message(text=f"{reason}。")
            return []
        account = gate.metadata(tracker).get("account_id")
        rt = container()
        with rt.uow() as uow:
            report, created = report_service.receive(
                uow.session,
                patient_id,
                image_path=str(path),
                image_sha256=str(sha256),
                account_id=account,
                actor=audit.Actor(ActorType.PATIENT, account),
            )
            uow.commit()
            report_id, status = report.id, report.ocr_status
            count = report_service.received_lately(uow.session, patient_id, account)
        if not created and status is not OcrStatus.PENDING:
            url = f"{rt.settings.public_base_url}/h5/reports/{report_id}"
            dispatcher.utter_message(text=f"这张报告已上传过，可在这里查看和核对：{url}")
            return []
        # if Redis is down it stays "识别中" and the sweeper enqueues it when Redis is back
        with suppress(redis.RedisError):
            enqueue_report(rt.redis, report_id)
        dispatcher.utter_message(
            text=f"已收到{max(count, 1)}张报告，正在识别…稍后把识别结果发给您。"
        )
        return []


def my_reports(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """“我的报告” (P6.2, asked as the history of reports): the latest reports of the active
    就诊人 and the link to all of them."""
    patient_id = _patient(tracker)
    if patient_id is None:
        dispatcher.utter_message(text="您还没有绑定就诊人，绑定后即可上传和查看报告。")
        bind_card(dispatcher)
        return []
    rt = container()
    with rt.uow() as uow:
        patient = uow.session.get(Patient, patient_id)
        assert patient is not None
        reports = report_service.for_patient(uow.session, patient_id)
        lines = [f"{patient.name}的报告（共{len(reports)}份）：" if reports else ""]
        lines += [_line(r) for r in reports[:LISTED]]
        name = patient.name
    if not reports:
        dispatcher.utter_message(
            text=f"{name}还没有报告。拍下整张检验检查报告直接发给我，即可上传并自动识别。"
        )
        return []
    dispatcher.utter_message(text="\n".join(lines))
    dispatcher.utter_message(
        custom={
            "card": "news",
            "title": f"{name}的报告",
            "description": "查看每份报告的原图与识别结果，核对或修改日期、医院和数值。",
            "url": f"{rt.settings.public_base_url}/h5/reports",
        }
    )
    return []


def _line(report: Any) -> str:
    when = report.report_date.isoformat() if report.report_date else "日期待补充"
    status = report_service.status_label(report)
    flagged = [f"{i.name}{'↑' if i.flag == 'H' else '↓'}" for i in report.items if i.flag]
    tail = f"【{status}】" if status else ("，异常：" + "、".join(flagged[:3]) if flagged else "")
    return (
        f"· {when} {report_service.kind_label(report.report_type)}"
        + (f"（{report.institution_name}）" if report.institution_name else "")
        + tail
    )
