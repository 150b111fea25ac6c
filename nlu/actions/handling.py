"""Handling a complication in chat (C3.4): a step ("12床静脉炎已处理：硫酸镁湿敷", "王芳的血栓
今天开始抗凝了") is recorded at once on the complication meant (complication_find.py);
closing ("静脉炎好了，结案") asks the outcome if not said and one confirmation; a step on a
closed complication asks whether to reopen it first."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, complication_photos, forms, gate, parsing
from . import complication_find as which
from .complication_photos import attach, pending, photo_target

FORM = "handling_form"
_CLOSE = re.compile(r"结案|关闭|闭环|销案|可以关了")
_OUTCOMES = [
    ("REMOVED", r"拔管|拔除|拔了|导致拔"),
    ("TRANSFERRED", r"转诊|转科|转院|转出|转外院"),
    ("IMPROVING", r"好转|减轻|缓解|降为|降到|减退"),
    ("RESOLVED", r"痊愈|治愈|好了|好啦|消退|消了|消失|愈合|已愈|恢复|解决|通畅|再通|通了|正常"),
]
_NUMBERED = re.compile(r"(?:第|选|选择)?\s*[0-9一二两三四五六七八九十]+\s*(?:个|号|项|条)?")
_BED = re.compile(r"[0-9一二两三四五六七八九十]+\s*号?\s*床")
_FILLER = re.compile(
    r"^(?:[，,。.、:：\s]|的|了|已经|已|给予|给|患者|病人|这个|那个|刚才|刚刚)+|[，,。.、\s]+$"
)
_GENERIC = re.compile(
    r"并发症|处理|更新|记录|措施|情况|进展|填写|录入|一下|意见|状态|结果|了|的|已|[，,。.、:：\s]"
)


def outcome_of(text: str) -> str | None:
    for code, words in _OUTCOMES:
        if re.search(words, text):
            return code
    return None


def step_text_of(text: str, names: list[str], d: Any) -> str:
    """What was done, as written: after a colon if there is one, else the message without
    the patient, the bed and the complication's name."""
    t = text.strip()
    if m := re.search(r"[:：]\s*(.+)$", t):
        return m.group(1).strip()
    for name in names:
        t = t.replace(name, " ")
    t = _BED.sub(" ", t)
    for entry in d.payload.get("complications", []):
        t = t.replace(entry["label"], " ")
    t = re.sub(r"静脉炎|血栓|堵管|堵塞|渗出|外渗|感染|移位|过敏", " ", t)
    return _FILLER.sub("", re.sub(r"\s+", " ", t)).strip()


def says_something(text: str) -> bool:
    """More than "更新并发症处理": some words about what was done."""
    return len(_GENERIC.sub("", text)) >= 2


class ValidateHandlingForm(complication_photos.PhotoKeepingForm):
    form = FORM
    slots = ("h_complication", "h_reopen", "h_text", "h_outcome", "h_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        closing, chosen = values.get("h_closing"), values.get("h_complication")
        if slot == "h_complication":
            return True
        if closing == "ALREADY" or values.get("h_reopen") is False:
            return slot == "h_complication"
        if slot == "h_reopen":
            return not closing and isinstance(chosen, int) and which.status(chosen) == "CLOSED"
        if slot == "h_text":
            return not closing
        return bool(closing)  # h_outcome, h_confirm

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = forms.latest_text(tracker)
        d = which.dictionary()
        closing = bool(_CLOSE.search(text))
        said = step_text_of(text, gate.patient_names(tracker), d)
        found: dict[str, Any] = {
            "h_closing": closing,
            "h_complication": {
                "catheter": tracker.get_slot(catheters.SCANNED),
                "name": gate.patient_name(tracker, guessed=False),
                "type": which.type_meant(tracker, text, d),
            },
        }
        if closing:
            found["h_outcome"] = outcome_of(text)
            found["h_text"] = said if says_something(said) else None
        elif says_something(said):
            found["h_text"] = said
        return found

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        chosen = tracker.get_slot("h_complication")
        if slot == "h_complication" and tracker.get_slot("h_choices"):
            dispatcher.utter_message(text=which.choices(tracker.get_slot("h_choices")))
        elif slot == "h_reopen":
            dispatcher.utter_message(text=which.closed_text(chosen))
        elif slot == "h_confirm":
            d = which.dictionary()
            outcome = d.label("complication_outcomes", tracker.get_slot("h_outcome"))
            note = tracker.get_slot("h_text")
            dispatcher.utter_message(
                text=f"请核对结案：\n并发症：{which.describe(chosen)}\n转归：{outcome}"
                + (f"\n说明：{note}" if note else "")
            )

    def validate_h_complication(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # the slots the first message set beside the questions are kept by saying them here
        kept = {"h_closing": tracker.get_slot("h_closing")}
        offered = tracker.get_slot("h_choices") or []
        if offered and isinstance(value, str):
            index = parsing.choice(value, len(offered))
            if index is not None:
                return kept | self._chosen(int(offered[index]), dispatcher, tracker)
            if _NUMBERED.fullmatch(parsing.normalise(value)):
                dispatcher.utter_message(text=f"请回复 1–{len(offered)} 之间的序号。")
                return kept | {"h_complication": None}
        spec = value if isinstance(value, dict) else {"name": which.name_meant(tracker, value)}
        ids, broad = which.find(tracker, spec)
        if len(ids) == 1 and not broad:
            return kept | self._chosen(ids[0], dispatcher, tracker)
        if not ids:
            dispatcher.utter_message(text=which.none_found(spec))
            return kept | {"h_complication": None, "h_choices": None}
        return kept | {"h_complication": None, "h_choices": ids}

    def _chosen(
        self, complication_id: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"h_complication": complication_id, "h_choices": None}
        if tracker.get_slot("h_closing") and which.status(complication_id) == "CLOSED":
            dispatcher.utter_message(text=which.closed_text(complication_id) + "无需重复结案。")
            result["h_closing"] = "ALREADY"
        return result

    def validate_h_reopen(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = parsing.yes_no(str(value), forms.latest_intent(tracker))
        if answer is None and re.search(r"重新|开启|打开|重开", str(value)):
            answer = True
        if answer is None:
            dispatcher.utter_message(text="请回复“是”重新开启，或回复“否”放弃。")
        return {"h_reopen": answer}

    def validate_h_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if tracker.get_slot("h_closing"):
            return {"h_text": text or None}
        if not says_something(text):
            dispatcher.utter_message(text="请写明做了什么处理，如“硫酸镁湿敷”“开始抗凝”。")
            return {"h_text": None}
        return forms.text_value("h_text", text, dispatcher, what="处理内容", min_len=2)

    def validate_h_outcome(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value)
        code = text if text in dict(_OUTCOMES) else outcome_of(parsing.normalise(text))
        if code is None:
            dispatcher.utter_message(text="请回复转归：“痊愈”“好转”“导致拔管”或“转诊/转科”。")
        return {"h_outcome": code}

    def validate_h_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("h_confirm", value, tracker, dispatcher)


class ActionSubmitHandling(Action):
    """Saves the step (reopening first if the clinician said so) or the closing, once per
    inbound message, and keeps the complication for the photos sent next."""

    def name(self) -> str:
        return "action_submit_handling"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done = forms.reset(domain, FORM)
        if (refused := gate.refusal_for_clinician_feature(tracker)) is not None:
            if refused:
                dispatcher.utter_message(text=refused)
            return done
        chosen, closing = tracker.get_slot("h_complication"), tracker.get_slot("h_closing")
        if closing == "ALREADY" or not isinstance(chosen, int):
            return done
        if tracker.get_slot("h_reopen") is False:
            dispatcher.utter_message(text="好的，没有重新开启，也没有保存任何内容。")
            return done
        if closing and not forms.confirmed(tracker, "h_confirm"):
            dispatcher.utter_message(text=forms.CANCELLED)
            return done
        saved = _save(dispatcher, tracker, chosen, bool(closing))
        return done + ([photo_target(chosen, saved)] if saved is not False else [])


def _save(
    dispatcher: CollectingDispatcher, tracker: Tracker, complication_id: int, closing: bool
) -> int | None | bool:
    """The step's id (None for a closing), or False when nothing was saved."""
    actor = catheters.actor(tracker)
    text = tracker.get_slot("h_text")
    with container().uow() as uow:
        s = uow.session
        d = dictionary_service.current(s)
        try:
            if closing:
                outcome = str(tracker.get_slot("h_outcome"))
                complication_service.close(
                    s, d, complication_id, outcome=outcome, note=text, actor=actor
                )
                label = d.label("complication_outcomes", outcome)
                reply = f"已结案：{which.describe_in(s, d, complication_id)}，转归：{label}。"
                step_id = None
            else:
                reopened = tracker.get_slot("h_reopen") is True and which.closed_in(
                    s, complication_id
                )
                if reopened:
                    complication_service.reopen(s, complication_id, reason=str(text), actor=actor)
                step = complication_service.add_step(
                    s,
                    d,
                    complication_id,
                    text=str(text),
                    actor=actor,
                    idempotency_key=forms.idempotency_key(tracker),
                )
                reply = (
                    ("已重新开启并" if reopened else "已")
                    + f"记录处理：{which.describe_in(s, d, complication_id)}\n"
                    + f"{complication_service.step_label(d, step.kind)}：{step.action}\n"
                    + "现在发送照片会添加到这条处理记录。"
                )
                step_id = step.id
        except complication_service.NeedsReopen:
            uow.rollback()
            dispatcher.utter_message(
                text="该并发症刚刚已结案。如需继续记录，请重新发送处理内容，并按提示重新开启。"
            )
            return False
        except complication_service.ComplicationRefused as exc:
            uow.rollback()
            dispatcher.utter_message(text=f"未能保存：{exc}")
            return False
        uow.commit()
    dispatcher.utter_message(text=reply)
    attach(dispatcher, tracker, complication_id, pending(tracker), step_id=step_id)
    return step_id
