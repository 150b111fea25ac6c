"""An outside clinician applies to use the service (C1.2): name, hospital, department, title,
mobile, licence number, confirmation. An admin reviews it (issue 5); a pending or approved
application for the same mobile is shown instead of a second one."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models.enums import ActorType
from bot.security.masking import mask_phone
from bot.services import applications, audit

from . import forms, gate, parsing

FORM = "application_form"
NAME = re.compile(r"^[\u4e00-\u9fa5·]{2,15}$|^[A-Za-z][A-Za-z .'-]{1,39}$")
ALREADY_STAFF = "您已是注册医护人员，可直接使用医护功能（发送“菜单”查看）。"


class ValidateApplicationForm(forms.ChatForm):
    form = FORM
    slots = ("o_name", "o_hospital", "o_department", "o_title", "o_phone", "o_licence", "o_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return not gate.is_clinician(tracker)

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        # an application already pending or approved for this mobile: nothing more to ask
        return not (values.get("o_duplicate") and slot in ("o_licence", "o_confirm"))

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        return {"o_hospital": gate.entity(tracker, "institution")}

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "o_confirm":
            s = tracker.get_slot
            dispatcher.utter_message(
                text=f"请核对注册申请：\n姓名：{s('o_name')}\n医院：{s('o_hospital')}\n科室：{s('o_department')}\n"
                f"职称：{s('o_title')}\n手机：{mask_phone(s('o_phone'))}\n执业证书编号：{s('o_licence')}"
            )

    def validate_o_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = parsing.normalise(str(value))
        if not NAME.match(text):
            dispatcher.utter_message(text="请输入真实姓名（2–15个汉字）。")
            return {"o_name": None}
        return {"o_name": text}

    def validate_o_hospital(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.text_value(
            "o_hospital", value, dispatcher, what="所在医院全称", min_len=4, max_len=60
        )

    def validate_o_department(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.text_value(
            "o_department", value, dispatcher, what="科室", min_len=2, max_len=40
        )

    def validate_o_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.text_value("o_title", value, dispatcher, what="职称", min_len=1, max_len=20)

    def validate_o_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = re.sub(r"[\s-]", "", parsing.normalise(str(value)))
        if not applications.MOBILE.match(digits):
            dispatcher.utter_message(text="请输入11位手机号码，如 13812345678。")
            return {"o_phone": None}
        with container().uow() as uow:
            found = applications.existing(uow.session, container().cipher, digits)
            existing = (found.id, applications.STATUS_LABELS[found.status]) if found else None
        if existing is not None:
            number, label = existing
            dispatcher.utter_message(
                text=f"该手机号已有注册申请（编号 {number}，状态：{label}），无需重复提交。"
            )
            return {"o_phone": digits, "o_duplicate": number}
        return {"o_phone": digits}

    def validate_o_licence(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = re.sub(r"\s", "", parsing.normalise(str(value)))
        if not applications.LICENCE.match(text):
            dispatcher.utter_message(text="执业证书编号应为8–30位字母或数字，请核对后重新输入。")
            return {"o_licence": None}
        return {"o_licence": text.upper()}

    def validate_o_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("o_confirm", value, tracker, dispatcher)


class ActionSubmitApplication(forms.SubmitAction):
    form = FORM
    confirm_slot = "o_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        if gate.is_clinician(tracker):
            return ALREADY_STAFF
        if tracker.get_slot("o_duplicate"):
            return ""  # the existing application's status was shown
        return None

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        s = tracker.get_slot
        meta = gate.metadata(tracker)
        applicant = applications.Applicant(
            name=str(s("o_name")),
            institution_name=str(s("o_hospital")),
            department_name=str(s("o_department")),
            title=s("o_title"),
            phone=str(s("o_phone")),
            licence_no=str(s("o_licence")),
            wecom_userid=tracker.sender_id.partition(":")[2]
            if meta.get("channel") == "work"
            else None,
        )
        with container().uow() as uow:
            result = applications.apply(
                uow.session, container().cipher, applicant, audit.Actor(ActorType.SYSTEM)
            )
            number, status = result.application.id, result.application.status
            uow.commit()
        if result.created:
            dispatcher.utter_message(
                text=f"注册申请已提交（编号 {number}），状态：待审核。审核需要您的工牌照片，请打开"
                f"{container().settings.public_base_url}/apply 用同一手机号上传。审核结果将通知您。"
            )
        else:
            dispatcher.utter_message(
                text=f"该手机号已有注册申请（编号 {number}，"
                f"状态：{applications.STATUS_LABELS[status]}）。"
            )
