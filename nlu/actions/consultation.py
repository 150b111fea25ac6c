"""Requesting a consultation (C5.1): which patient, the question, urgency, confirmation.
The request is recorded; the WeChat Work group chat is opened by the consultation feature
(see the README's feature table)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models import Catheter
from bot.services import consultations

from . import catheters, forms, gate, parsing

FORM = "consultation_form"


class ValidateConsultationForm(forms.ChatForm):
    form = FORM
    slots = ("k_catheter", "k_question", "k_urgency", "k_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        return {"k_catheter": catheters.meant(tracker)}

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "k_confirm":
            catheter, d = catheters.load(int(tracker.get_slot("k_catheter")))
            dispatcher.utter_message(
                text=f"请核对会诊申请：\n患者导管：{catheters.describe(d, catheter)}\n"
                f"会诊问题：{tracker.get_slot('k_question')}\n紧急程度：{tracker.get_slot('k_urgency')}"
            )

    def validate_k_catheter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return catheters.validate("k_catheter", value, tracker, dispatcher)

    def validate_k_question(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.text_value("k_question", value, dispatcher, what="会诊问题", min_len=5)

    def validate_k_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = parsing.normalise(str(value))
        if re.search(r"急|紧|快|马上|立即", text) and not re.search(r"不急|不紧", text):
            return {"k_urgency": "加急"}
        if re.search(r"普通|一般|不急|常规|不紧", text):
            return {"k_urgency": "普通"}
        dispatcher.utter_message(text="请回复“普通”或“加急”。")
        return {"k_urgency": None}

    def validate_k_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("k_confirm", value, tracker, dispatcher)


class ActionSubmitConsultation(forms.SubmitAction):
    form = FORM
    confirm_slot = "k_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        return gate.refusal_for_clinician_feature(tracker)

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        with container().uow() as uow:
            catheter = uow.session.get(Catheter, int(tracker.get_slot("k_catheter")))
            assert catheter is not None
            consultation = consultations.request(
                uow.session,
                catheter,
                question=str(tracker.get_slot("k_question")),
                urgent=tracker.get_slot("k_urgency") == "加急",
                actor=catheters.actor(tracker),
            )
            uow.commit()
            number = consultation.id
        dispatcher.utter_message(
            text=f"会诊申请已记录（编号 {number}）。自动建立会诊群聊的功能即将上线；"
            "紧急情况请直接电话联系静脉治疗专科。"
        )
