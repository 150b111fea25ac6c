"""The production dialogue engine: the Rasa server's REST channel."""

from __future__ import annotations

import logging
from typing import Any

import requests

from bot.dialogue import DialogueInput, EngineUnavailable, Reply

log = logging.getLogger(__name__)


class RasaEngine:
    def __init__(self, base_url: str, *, timeout: tuple[float, float] = (3, 30)) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def handle(
        self, conversation_id: str, turn: DialogueInput, metadata: dict[str, Any]
    ) -> list[Reply]:
        body: dict[str, Any] = {
            "sender": conversation_id,
            "message": turn.as_message(),
            "metadata": metadata,
        }
        try:
            res = self._http.post(
                f"{self.base_url}/webhooks/rest/webhook", json=body, timeout=self.timeout
            )
            res.raise_for_status()
            replies = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise EngineUnavailable(f"Rasa at {self.base_url}: {exc}") from exc
        if not isinstance(replies, list):
            raise EngineUnavailable(f"Rasa answered {type(replies).__name__}, expected a list")
        return replies

    def reachable(self) -> bool:
        """Whether the Rasa server answers at all (its root says hello)."""
        try:
            return self._http.get(f"{self.base_url}/", timeout=(2, 3)).ok
        except requests.RequestException:
            return False

    def active_form(self, conversation_id: str) -> str | None:
        """The form the conversation is in, if any ("" when it cannot be told)."""
        try:
            res = self._http.get(
                f"{self.base_url}/conversations/{conversation_id}/tracker",
                params={"include_events": "NONE"},
                timeout=self.timeout,
            )
            res.raise_for_status()
            loop = (res.json().get("active_loop") or {}).get("name")
        except (requests.RequestException, ValueError, AttributeError):
            return ""
        return str(loop) if loop else None
