"""Catheter removal (拔管) in chat, after a scan or by name: which catheter, date, reason, the
linked complication when removed for one, catheter intact, tip culture, one confirmation.
"12床今天拔管了，治疗结束" fills what it says; a date before the last maintenance is asked
to be confirmed; the service (bot/services/removals.py) refuses a second removal."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select

from bot.container import current as container
from bot.models import Catheter, Patient
from bot.models.enums import CatheterState
from bot.services import access, removals
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, forms, gate, parsing
from . import complication_find as which
from . import removal_words as words
from .removal_submit import summary

FORM = "removal_form"
COMPLICATION = removals.COMPLICATION
NO_COMPLICATION = 0  # r_complication when the catheter has no open complication to link


def _catheter(tracker: Tracker) -> Catheter | None:
    value = tracker.get_slot("r_catheter")
    return catheters.load(int(value))[0] if isinstance(value, int) else None


def _last_maintained(catheter_id: int) -> date | None:
    rt = container()
    with rt.uow() as uow:
        catheter = uow.session.get(Catheter, catheter_id)
        assert catheter is not None
        return removals.last_maintained_on(uow.session, catheter, rt.settings.timezone)


class ValidateRemovalForm(forms.ChatForm):
    form = FORM
    slots = (
        "r_catheter",
        "r_date",
        "r_date_check",
        "r_reason",
        "r_complication",
        "r_intact",
        "r_culture",
        "r_confirm",
    )

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        if slot == "r_complication":
            return values.get("r_reason") == COMPLICATION
        if slot == "r_date_check":
            day, catheter = values.get("r_date"), values.get("r_catheter")
            if not (isinstance(catheter, int) and words.is_iso(day)):
                return False
            last = _last_maintained(catheter)
            return last is not None and date.fromisoformat(str(day)) < last
        return True

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = forms.latest_text(tracker)
        day = words.day_of(text)
        culture = words.culture_of(text) if re.search(r"培养|送检", text) else None
        intact = words.intact_of(text) if re.search(r"完整|断|残留", text) else None
        return {
            "r_catheter": catheters.meant(tracker),
            "r_date": day.isoformat() if day else None,
            "r_reason": words.reason_of(text),
            "r_intact": intact,
            "r_culture": culture,
        }

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "r_catheter" and words.BED.search(forms.latest_text(tracker)):
            dispatcher.utter_message(text="系统中没有床号信息，无法按床号查找。")
        elif slot == "r_date_check":
            last = _last_maintained(int(tracker.get_slot("r_catheter")))
            dispatcher.utter_message(
                text=f"拔管日期（{tracker.get_slot('r_date')}）早于最近一次维护（{last}）。"
            )
        elif slot == "r_complication":
            dispatcher.utter_message(
                text=which.choices(
                    tracker.get_slot("r_choices") or [],
                    "该导管有多个未结案的并发症，请回复序号选择：",
                )
            )
        elif slot == "r_confirm":
            dispatcher.utter_message(text=summary(tracker))

    def validate_r_catheter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = catheters.resolve(tracker, value)
        if found.catheter_id is None:
            dispatcher.utter_message(text=_removed_already(tracker, value) or found.message)
            return {"r_catheter": None, "candidates": found.candidates}
        result: dict[str, Any] = {"r_catheter": found.catheter_id, "candidates": None}
        catheter, _ = catheters.load(found.catheter_id)
        day = tracker.get_slot("r_date")
        if isinstance(day, str) and (problem := _date_problem(catheter, date.fromisoformat(day))):
            dispatcher.utter_message(text=problem)
            result["r_date"] = None
        if tracker.get_slot("r_reason") == COMPLICATION:
            result |= _link(found.catheter_id)
        return result

    def validate_r_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        day = date.fromisoformat(value) if words.is_iso(value) else words.day_of(str(value))
        if day is None:
            dispatcher.utter_message(text="没有看懂拔管日期，请回复如“今天”“昨天”“12月1日”。")
            return {"r_date": None}
        catheter = _catheter(tracker)
        problem = _date_problem(catheter, day) if catheter else None
        if problem is None and day > forms.today():
            problem = "拔管日期不能晚于今天，请重新发送日期。"
        if problem:
            dispatcher.utter_message(text=problem)
            return {"r_date": None}
        return {"r_date": day.isoformat(), "r_date_check": None}

    def validate_r_date_check(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if words.day_of(str(value)) is not None:  # a corrected date instead of a yes
            return self.validate_r_date(value, dispatcher, tracker, domain)
        answer = parsing.yes_no(str(value), forms.latest_intent(tracker))
        if answer is None:
            dispatcher.utter_message(text="日期无误请回复“确认”，或直接发送正确的拔管日期。")
        if answer is False:
            return {"r_date": None, "r_date_check": None}
        return {"r_date_check": answer}

    def validate_r_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value)
        code = text if text in dict(words.REASONS) else words.reason_of(parsing.normalise(text))
        if code is None:
            dispatcher.utter_message(
                text="没有看懂拔管原因，请回复“治疗结束”“并发症”“意外/非计划拔管”“患者要求”或“死亡”。"
            )
            return {"r_reason": None}
        result: dict[str, Any] = {"r_reason": code}
        catheter = tracker.get_slot("r_catheter")
        if code == COMPLICATION and isinstance(catheter, int):
            result |= _link(catheter)
        elif code != COMPLICATION:
            result |= {"r_complication": None, "r_choices": None}
        return result

    def validate_r_complication(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, int):
            return {"r_complication": value}
        offered = tracker.get_slot("r_choices") or []
        index = parsing.choice(str(value), len(offered))
        if index is None:
            dispatcher.utter_message(text=f"请回复 1–{len(offered)} 之间的序号。")
            return {"r_complication": None}
        return {"r_complication": int(offered[index])}

    def validate_r_intact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        intact = value if isinstance(value, bool) else words.intact_of(str(value))
        if intact is None:
            dispatcher.utter_message(text="请回复“完整”或“不完整”。")
        return {"r_intact": intact}

    def validate_r_culture(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        culture = value if isinstance(value, dict) else words.culture_of(str(value))
        if culture is None:
            dispatcher.utter_message(
                text="请回复尖端培养情况：“未送”“已送，待结果”，或结果如“已送，阴性”。"
            )
        return {"r_culture": culture}

    def validate_r_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("r_confirm", value, tracker, dispatcher)


def _date_problem(catheter: Catheter, day: date) -> str | None:
    placed = forms.local(catheter.placed_at)
    if day < placed:
        return f"拔管日期不能早于置管日期（{placed:%Y-%m-%d}），请重新发送日期。"
    return None


def _removed_already(tracker: Tracker, value: Any) -> str | None:
    """A removed catheter named or scanned: why it cannot be removed again."""
    name = gate.patient_name(tracker) or (str(value) if isinstance(value, str) else None)
    if not name or not gate.metadata(tracker).get("staff_id"):
        return None
    with container().uow() as uow:
        s = uow.session
        found = access.find_catheters(
            s,
            catheters.actor(tracker),
            Patient.name == name,
            Catheter.state == CatheterState.REMOVED,
            context="chat-form",
            limit=1,
        )
        if not found or s.scalar(
            select(Catheter.id).where(
                Catheter.patient_id == found[0].patient_id,
                Catheter.state == CatheterState.IN_PLACE,
            )
        ):
            return None
        text = removals.already_removed(s, dictionary_service.current(s), found[0])
        uow.commit()
    return text


def _link(catheter_id: int) -> dict[str, Any]:
    """The complication a removal for a complication is linked to: the only open one, else a
    choice among them (r_choices); none open: registered unlinked."""
    with container().uow() as uow:
        still_open = complication_service.find_open_for_catheter(uow.session, catheter_id)
        ids = [c.id for c in still_open]
    if len(ids) == 1:
        return {"r_complication": ids[0], "r_choices": None}
    if not ids:
        return {"r_complication": NO_COMPLICATION, "r_choices": None}
    return {"r_complication": None, "r_choices": ids}
