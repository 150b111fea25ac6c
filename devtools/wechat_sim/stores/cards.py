"""WeChat Work template cards: where each was delivered, and their one-time response codes."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from .conversations import Conversations
from .core import Core, Store

RESPONSE_CODE_TTL = 72 * 3600  # template-card response codes: once, within 72 h


class Cards(Store):
    def __init__(self, core: Core, conversations: Conversations) -> None:
        self._conversations = conversations
        super().__init__(core)

    def reset(self) -> None:
        with self._lock:
            self._cards: dict[str, dict[str, Any]] = {}
            self._codes: dict[str, dict[str, Any]] = {}

    def register(self, task_id: str, card: dict[str, Any], entry_ids: list[int]) -> None:
        with self._lock:
            self._cards[task_id] = {
                "task_id": task_id,
                "card": copy.deepcopy(card),
                "entries": list(entry_ids),
                "created_at": self._now(),
            }

    def get(self, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            card = self._cards.get(task_id)
            return copy.deepcopy(card) if card else None

    def entries(self, task_id: str) -> list[dict[str, Any]]:
        """The conversation entries the card ``task_id`` was delivered as."""
        with self._lock:
            card = self._cards.get(task_id)
            return self._conversations.entries(card["entries"]) if card else []

    def issue_code(self, task_id: str, userid: str | None) -> str:
        with self._lock:
            code = secrets.token_urlsafe(32)
            self._codes[code] = {
                "task_id": task_id,
                "userid": userid,
                "issued_at": self._now(),
                "used": False,
            }
            return code

    def use_code(self, code: str) -> dict[str, Any] | None:
        """The code's record if it is valid (unused, under 72 h); it is then spent."""
        with self._lock:
            info = self._codes.get(code)
            if info is None or info["used"] or self._now() - info["issued_at"] > RESPONSE_CODE_TTL:
                return None
            info["used"] = True
            return dict(info)
