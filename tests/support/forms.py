"""Drive a form's validation and submit actions turn by turn, as Rasa's FormAction does:
the first message activates it, each later message is taken for the requested slot, the
form is done when ``requested_slot`` comes back empty. "算了" is Rasa's job (the form is
rejected and the stop rule runs ``action_cancel_form``), so ``cancel`` runs that action."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from nlu.actions.forms import ActionCancelForm


def run_coroutine(coro: Any) -> Any:
    """Run an action's coroutine to completion, also when this thread already runs an event
    loop (Playwright's sync API keeps one running for the browser tests' session)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class FormDriver:
    def __init__(
        self, validate: Action, domain: dict[str, Any], sender: str, **metadata: Any
    ) -> None:
        self.validate = validate
        self.domain = domain
        self.sender = sender
        self.metadata = metadata
        self.slots: dict[str, Any] = {}
        self.form = validate.name().removeprefix("validate_")
        self.active = False
        self.messages: list[dict[str, Any]] = []
        self._n = 0

    def _tracker(self, text: str, intent: str, entities: list[tuple[str, Any]]) -> Tracker:
        self._n += 1
        message = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [{"entity": k, "value": v} for k, v in entities],
            "message_id": f"m{self._n}",
            "metadata": {
                **self.metadata,
                **self._name_hints(text),
                "inbox_id": f"{self.sender}-{self._n}",
            },
        }
        return Tracker(
            self.sender,
            dict(self.slots),
            message,
            [{"event": "user", "text": text}],
            False,
            None,
            {"name": self.form} if self.active else {},
            "action_listen",
        )

    def _name_hints(self, text: str) -> dict[str, Any]:
        """What the worker adds for a clinician's text: the patient names it contains."""
        if not self.metadata.get("staff_id"):
            return {}
        from bot.container import current
        from bot.services import names

        with current().uow() as uow:
            return names.hints(uow.session, self.metadata["staff_id"], text)

    def say(self, text: str, intent: str = "inform", entities: list[tuple[str, Any]] = ()) -> str:
        """One message while the form runs; returns what the bot said."""
        tracker = self._tracker(text, intent, list(entities))
        dispatcher = CollectingDispatcher()
        events = run_coroutine(self.validate.run(dispatcher, tracker, self.domain))
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.active = self.slots.get("requested_slot") is not None
        self.messages = dispatcher.messages
        return "\n".join(m.get("text") or "" for m in dispatcher.messages)

    @property
    def asking(self) -> str | None:
        return self.slots.get("requested_slot")

    def submit(self, action: Action, text: str = "确认") -> str:
        """The submit action, run by the submit rule once the form is done."""
        assert not self.active, f"the form still asks {self.asking}"
        tracker = self._tracker(text, "affirm", [])
        dispatcher = CollectingDispatcher()
        events = action.run(dispatcher, tracker, self.domain)
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.messages = dispatcher.messages
        return "\n".join(m.get("text") or "" for m in dispatcher.messages)

    def cancel(self, text: str = "算了") -> str:
        tracker = self._tracker(text, "stop", [])
        dispatcher = CollectingDispatcher()
        events = ActionCancelForm().run(dispatcher, tracker, self.domain)
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            if event.get("event") == "active_loop":
                self.active = bool(event.get("name"))
        return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def load_domain() -> dict[str, Any]:
    """The domain as Rasa merges nlu/domain/*.yml."""
    import yaml

    from bot.config import ROOT

    merged: dict[str, Any] = {}
    for path in sorted((ROOT / "nlu" / "domain").glob("*.yml")):
        for key, value in (yaml.safe_load(path.read_text()) or {}).items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
    return merged


def run_action(
    action: Action, driver: FormDriver, intent: str, entities: list[tuple[str, Any]]
) -> str:
    """Run a plain action with the driver's sender and metadata (e.g. before a form)."""
    tracker = driver._tracker("", intent, entities)
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, driver.domain)
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)
