"""Access tokens of both platforms, with their lifetime and the daily fetch quota."""

from __future__ import annotations

import secrets
from collections import deque
from typing import Any

from .core import CHANNELS, Store

TOKEN_TTL = 7200  # seconds, both platforms
TOKEN_DAILY_LIMIT = 2000  # access-token fetches a day (45009 beyond)


class Tokens(Store):
    def reset(self) -> None:
        with self._lock:
            self._tokens: dict[str, dict[str, Any]] = {}
            self._fetches: dict[str, deque[float]] = {c: deque() for c in CHANNELS}

    def issue(self, channel: str) -> tuple[str | None, int]:
        """A new access token for ``channel`` → (token, expires_in); (None, 45009) when the
        daily quota of token fetches is used up."""
        with self._lock:
            now = self._now()
            fetches = self._fetches[channel]
            while fetches and fetches[0] <= now - 86400:
                fetches.popleft()
            if len(fetches) >= TOKEN_DAILY_LIMIT:
                return None, 45009
            fetches.append(now)
            token = f"SIM_{channel.upper()}_" + secrets.token_urlsafe(40)
            self._tokens[token] = {"channel": channel, "expires_at": now + TOKEN_TTL}
            return token, TOKEN_TTL

    def jsapi_ticket(self) -> str:
        """The official account's JS-SDK ticket (``ticket/getticket?type=jsapi``): one at a
        time, renewed when it expires; tests sign a page's config with it to check the
        product's signature."""
        with self._lock:
            now = self._now()
            ticket = getattr(self, "_ticket", None)
            if ticket is None or now >= ticket[1]:
                ticket = ("SIM_JSAPI_" + secrets.token_urlsafe(30), now + TOKEN_TTL)
                self._ticket = ticket
            return ticket[0]

    def fetches(self, channel: str) -> int:
        """How many tokens ``channel`` fetched in the last 24 hours."""
        with self._lock:
            now = self._now()
            return sum(1 for t in self._fetches[channel] if t > now - 86400)

    def check(self, channel: str, token: str | None) -> int:
        """0 if ``token`` is a live token of ``channel``; else WeChat's errcode."""
        with self._lock:
            if not token:
                return 41001
            info = self._tokens.get(token)
            if info is None or info["channel"] != channel:
                return 40014
            if self._now() >= info["expires_at"]:
                return 42001
            return 0

    def expire_all(self) -> int:
        """Every token issued so far now answers 42001; returns how many."""
        with self._lock:
            now = self._now()
            for info in self._tokens.values():
                info["expires_at"] = min(info["expires_at"], now)
            return len(self._tokens)
