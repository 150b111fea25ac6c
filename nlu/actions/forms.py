"""What every multi-turn form shares.

A form asks its slots in order and takes whatever the person typed for the slot it asked,
except "算了 / 取消" (intent ``stop``), which leaves the form through
``action_cancel_form``: every slot of the form is cleared and nothing is saved. Each value is
checked by a ``validate_<slot>`` method that either returns the clean value or says what is
expected and asks again. Saving happens only in the form's submit action, after the person
confirmed, so a form left half-way leaves nothing behind.

A form whose audience does not match the sender (a patient form for a clinician, …) asks
nothing: ``required_slots`` is empty, the form ends at once and the submit action answers
with the refusal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.care.rules import local_date
from bot.container import current as container
from bot.models import utcnow

from . import gate, parsing

REQUESTED_SLOT = "requested_slot"
# Slots the forms keep beside their questions: the list of catheters offered for a choice,
# the device of the chosen catheter (it decides which questions are asked), and the scanned
# catheter — used by one registration, then forgotten, so a later one never lands on the
# patient scanned an hour ago.
SHARED_SLOTS = ("candidates", "m_device", "c_device", "o_duplicate", "scanned_catheter_id")
CANCELLED = "好的，已取消，没有保存任何内容。"


def latest_intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


def today() -> date:
    return local_date(utcnow(), container().settings.timezone)


def idempotency_key(tracker: Tracker) -> str:
    """One key per inbound message: the worker's inbox id, else Rasa's message id."""
    meta = gate.metadata(tracker)
    if meta.get("inbox_id"):
        return f"chat:inbox:{meta['inbox_id']}"
    return f"chat:{tracker.sender_id}:{tracker.latest_message.get('message_id')}"


class ChatForm(FormValidationAction):
    """Base of the form validation actions (``validate_<form>``)."""

    form: str = ""
    slots: tuple[str, ...] = ()

    def name(self) -> str:
        return f"validate_{self.form}"

    # --- what subclasses say ------------------------------------------------------------
    @abstractmethod
    def permitted(self, tracker: Tracker) -> bool:
        """Whether the sender is the form's audience (else the form asks nothing)."""

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        """Whether the slot is asked, given the values so far (e.g. no grade for MARSI)."""
        return True

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        """Values the activating message already carries (entities, a scanned catheter)."""
        return {}

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        """Say what is needed before the slot's question (a list to choose from, a summary)."""

    # --- the machinery ------------------------------------------------------------------
    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if not self.permitted(tracker):
            return []
        values = dict(tracker.slots)
        return [s for s in self.slots if self.wanted(s, values)]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not self.permitted(tracker):
            return []
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested is None:  # activation: take what the first message already says
            values = {k: v for k, v in self.prefill(tracker).items() if v is not None}
            return [SlotSet(k, v) for k, v in values.items()]
        if requested in self.slots and latest_intent(tracker) != "stop":
            return [SlotSet(requested, latest_text(tracker))]
        return []  # nothing taken: the form is rejected and the stop rule cancels it

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> EventType | None:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = next((s for s in required if tracker.slots.get(s) is None), None)
        if missing is not None:
            self.prompt(missing, tracker, dispatcher)
        return SlotSet(REQUESTED_SLOT, missing)


def form_slots(domain: DomainDict, form: str) -> list[str]:
    return list(domain.get("forms", {}).get(form, {}).get("required_slots", []))


def reset(domain: DomainDict, form: str) -> list[EventType]:
    """Clear every slot of the form, so the next time starts empty."""
    names = [*form_slots(domain, form), *SHARED_SLOTS, REQUESTED_SLOT]
    return [SlotSet(name, None) for name in dict.fromkeys(names)]


class ActionCancelForm(Action):
    """ "算了 / 取消" inside any form: leave it, clear it, save nothing."""

    def name(self) -> str:
        return "action_cancel_form"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        form = tracker.active_loop.get("name")
        dispatcher.utter_message(text=CANCELLED)
        events: list[EventType] = [ActiveLoop(None)]
        if form:
            events += reset(domain, form)
        return events


def confirmed(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot(slot) is True


def validate_yes_no(
    slot: str, value: Any, tracker: Tracker, dispatcher: CollectingDispatcher
) -> dict[str, Any]:
    answer = parsing.yes_no(str(value), latest_intent(tracker))
    if answer is None:
        dispatcher.utter_message(text="请回复“确认”提交，或回复“取消”放弃本次填写。")
    return {slot: answer}


def text_value(
    slot: str,
    value: Any,
    dispatcher: CollectingDispatcher,
    *,
    what: str,
    min_len: int = 1,
    max_len: int = 500,
) -> dict[str, Any]:
    text = str(value or "").strip()
    if text.startswith("/") or not min_len <= len(text) <= max_len:
        dispatcher.utter_message(text=f"{what}请用{min_len}到{max_len}个字描述。")
        return {slot: None}
    return {slot: text}


def local(moment: datetime) -> date:
    return local_date(moment, container().settings.timezone)


class SubmitAction(Action, ABC):
    """A form's submit action: answer a refusal, or drop an unconfirmed form, or save.
    Either way the form's slots are cleared."""

    form: str = ""
    confirm_slot: str | None = None

    def name(self) -> str:
        return f"action_submit_{self.form.removesuffix('_form')}"

    @abstractmethod
    def refusal(self, tracker: Tracker) -> str | None:
        """Why this sender cannot submit ("" to end silently), or None."""

    @abstractmethod
    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Save the confirmed values and tell the person what happened."""

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done = reset(domain, self.form)
        if (refused := self.refusal(tracker)) is not None:
            if refused:
                dispatcher.utter_message(text=refused)
            return done
        if self.confirm_slot and not confirmed(tracker, self.confirm_slot):
            dispatcher.utter_message(text=CANCELLED)
            return done
        self.save(dispatcher, tracker)
        return done
