"""The dialogue engine port: what a conversation turn sends in and gets back.

The worker turns every inbound message into a ``DialogueInput`` (free text, or an intent
with entities for menu clicks, scans, locations, images …) and hands it to an engine. The
production engine is the Rasa server (``bot.adapters.rasa``); replies are Rasa-style dicts
(``{"text": ...}``, ``{"image": ...}``, ``{"custom": {...}}``) rendered by ``cards``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

Reply = dict[str, Any]


@dataclass(frozen=True)
class DialogueInput:
    text: str | None = None
    intent: str | None = None
    entities: dict[str, Any] = field(default_factory=dict)

    def as_message(self) -> str:
        """The message string Rasa understands: text, or ``/intent{"entity": value}``."""
        if self.intent:
            return f"/{self.intent}" + (
                json.dumps(self.entities, ensure_ascii=False) if self.entities else ""
            )
        return self.text or ""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "entities": self.entities}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DialogueInput:
        return cls(
            text=data.get("text"), intent=data.get("intent"), entities=data.get("entities") or {}
        )


class EngineUnavailable(Exception):
    """The engine could not be reached or failed; the turn is retried later."""


class DialogueEngine(Protocol):
    def handle(
        self, conversation_id: str, turn: DialogueInput, metadata: dict[str, Any]
    ) -> list[Reply]: ...

    def reachable(self) -> bool: ...

    def active_form(self, conversation_id: str) -> str | None: ...
