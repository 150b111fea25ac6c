"""The official account's customer-service windows: who may be sent how many messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import Core, Store
from .followers import Followers

MP_MESSAGE_WINDOW = 48 * 3600  # customer-service window after a user message …
MP_MESSAGE_ALLOWANCE = 5  # … and how many messages it allows
MP_EVENT_WINDOW = 60  # a menu click / scan / follow opens a smaller window …
MP_EVENT_ALLOWANCE = 3  # … of three messages within a minute


@dataclass
class _Grant:
    kind: str  # "message" | "event"
    until: float
    left: int


class Windows(Store):
    def __init__(self, core: Core, followers: Followers) -> None:
        self._followers = followers
        super().__init__(core)

    def reset(self) -> None:
        with self._lock:
            self._grants: dict[str, dict[str, _Grant]] = {}

    def user_message(self, openid: str, kind: str = "message", at: float | None = None) -> None:
        """``openid`` just wrote to the account (``kind="message"``: 5 messages within 48 h)
        or clicked a menu / scanned / followed (``kind="event"``: 3 within a minute)."""
        if kind not in ("message", "event"):
            raise ValueError("kind is 'message' or 'event'")
        with self._lock:
            when = self._now() if at is None else at
            if kind == "message":
                grant = _Grant(kind, when + MP_MESSAGE_WINDOW, MP_MESSAGE_ALLOWANCE)
            else:
                grant = _Grant(kind, when + MP_EVENT_WINDOW, MP_EVENT_ALLOWANCE)
            self._grants.setdefault(openid, {})[kind] = grant
            self._followers.add(openid)

    def consume(self, openid: str) -> int:
        """Use one customer-service message for ``openid``: 0, 45015 or 45047."""
        with self._lock:
            now = self._now()
            active = [g for g in self._grants.get(openid, {}).values() if g.until > now]
            if not active:
                return 45015
            for grant in sorted(active, key=lambda g: g.until):
                if grant.left > 0:
                    grant.left -= 1
                    return 0
            return 45047

    def of(self, openid: str) -> dict[str, Any]:
        """The open customer-service allowances of ``openid`` (for the phone page and tests)."""
        with self._lock:
            now = self._now()
            return {
                kind: {"until": g.until, "left": g.left}
                for kind, g in self._grants.get(openid, {}).items()
                if g.until > now
            }
