"""Requesting a consultation (C5.1) in the clinician chat: which patient (the one just scanned,
or a name), the question and urgency — taken from the first message when it says them
("请求会诊，12床穿刺点渗液两天了", "紧急会诊") —, confirmation; then the service records it and
the consultation job opens the WeChat Work group chat. Photos, voice notes and videos sent
during the form are kept for it (``consultation_media``)."""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.jobs.queues import enqueue_consultation
from bot.models import Catheter, Staff, utcnow
from bot.services import access
from bot.services.consultations import ConsultationError, requests

from . import catheters, consultation_media, forms, gate, parsing

log = logging.getLogger(__name__)
FORM = "consultation_form"
COMPLICATION = "k_complication"  # named by the button that started the form

_ASKING = re.compile(
    r"(?:我要|我想|想要|需要|想|要|帮我|麻烦)?(?:请求|申请|发起|预约|约|请)?(?:个|一个|一下)?"
    r"(?:加急|紧急|急)?(?:的)?(?:专家)?会诊(?:一下)?"
)
_FILLER = re.compile(r"帮我|麻烦|给|为|请|患者|病人|病员|的|一下|个|[\s,，。.、:：;；!！?？]")
_NOT_URGENT = re.compile(r"不急|不紧急|不用急|急性|急诊")


def urgent_in(text: str) -> bool:
    """Whether a message asks for urgency (急, 加急, 紧急), not "急性" or "不急"."""
    return "急" in _NOT_URGENT.sub("", parsing.normalise(text))


def question_in(text: str, names: list[str] | tuple[str, ...] = ()) -> str | None:
    """The question a request message already asks, without the asking words ("请求会诊，12床
    穿刺点渗液两天了" → "12床穿刺点渗液两天了"); None when it says no more than who and how
    urgent ("帮我给张三申请个加急会诊")."""
    if not text or text.startswith("/"):
        return None
    rest = _ASKING.sub("", text, count=1).strip(" ，,。.、:：;；!！")
    rest = re.sub(r"^(?:加急|紧急|急)[\s，,。:：]*", "", rest)
    meaningful = _FILLER.sub("", _NOT_URGENT.sub("", rest))
    for name in names:
        meaningful = meaningful.replace(name, "")
    meaningful = re.sub(r"^(?:加急|紧急|急)", "", meaningful)
    return rest if len(meaningful) >= 4 else None


class ValidateConsultationForm(consultation_media.MediaKeepingForm):
    form = FORM
    slots = ("k_catheter", "k_question", "k_urgency", "k_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = forms.latest_text(tracker)
        question = question_in(text, gate.patient_names(tracker))
        return {
            "k_catheter": catheters.meant(tracker),
            "k_question": question if question and 5 <= len(question) <= 500 else None,
            "k_urgency": "加急" if urgent_in(text) else None,
        }

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        if tracker.get_slot(forms.REQUESTED_SLOT) is None and self.permitted(tracker):
            named = gate.entity(tracker, "complication_id")  # a complication card's button
            events += [
                SlotSet(consultation_media.HELD, None),
                SlotSet(COMPLICATION, int(named) if str(named or "").isdigit() else None),
            ]
        return events

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "k_confirm":
            catheter, d = catheters.load(int(tracker.get_slot("k_catheter")))
            held = len(tracker.get_slot(consultation_media.HELD) or [])
            dispatcher.utter_message(
                text=f"请核对会诊申请：\n患者导管：{catheters.describe(d, catheter)}\n"
                f"会诊问题：{tracker.get_slot('k_question')}\n紧急程度：{tracker.get_slot('k_urgency')}"
                + (f"\n附件：{held}个" if held else "")
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
        if re.search(r"普通|一般|不急|常规|不紧", text):
            return {"k_urgency": "普通"}
        if urgent_in(text) or re.search(r"紧|快|马上|立即", text):
            return {"k_urgency": "加急"}
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
        rt = container()
        now = utcnow()
        actor = catheters.actor(tracker)
        with rt.uow() as uow:
            catheter = uow.session.get(Catheter, int(tracker.get_slot("k_catheter")))
            assert catheter is not None
            named = tracker.get_slot(COMPLICATION)
            try:
                consultation = requests.request(
                    uow.session,
                    patient_id=catheter.patient_id,
                    catheter_id=catheter.id,
                    complication_id=int(named)
                    if named
                    else consultation_media.concerned(uow.session, catheter.id, actor.id, now),
                    question=str(tracker.get_slot("k_question")),
                    urgent=tracker.get_slot("k_urgency") == "加急",
                    actor=actor,
                    now=now,
                    tz=rt.settings.timezone,
                )
            except access.NotVisible:
                uow.commit()  # the refusal is audited as denied
                dispatcher.utter_message(text="您没有查看该患者的权限，无法为其申请会诊。")
                return
            except ConsultationError as exc:
                uow.rollback()
                dispatcher.utter_message(text=str(exc))
                return
            fresh = consultation.created_at == now  # else the same request, sent before
            number = consultation.id
            experts = "、".join(
                s.name
                for m in consultation.members
                if m.role == "consultant" and (s := uow.session.get(Staff, m.staff_id))
            )
            uow.commit()
        # the media held during the form go to the consultation, a new one or the same
        # request sent before; the job posts them (and opens the chat if it is not yet)
        attached = consultation_media.attach_held(dispatcher, tracker, number)
        try:
            enqueue_consultation(rt.redis, number)
        except redis.RedisError:  # the scheduled sweep and new media or notes enqueue it again
            log.exception("could not enqueue consultation %s", number)
        if not fresh:
            dispatcher.utter_message(
                text=f"这个会诊已经申请过了（编号 {number}），不会重复提交。"
                + (f"已把{attached}个附件带入该会诊。" if attached else "")
                + "可以继续发送照片、语音或视频，会一并带入群聊。"
            )
            return
        dispatcher.utter_message(
            text=f"会诊申请已提交（编号 {number}）：正在建立会诊群，专家：{experts}；"
            + (f"已带上{attached}个附件；" if attached else "")
            + "可以继续发送照片、语音或视频，会一并带入群聊。"
        )
