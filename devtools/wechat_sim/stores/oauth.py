"""OAuth codes of both platforms' web authorisation."""

from __future__ import annotations

import secrets
from typing import Any

from .core import Store

OAUTH_CODE_TTL = 300  # OAuth codes: once, within 5 minutes


class OAuthCodes(Store):
    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, dict[str, Any]] = {}

    def issue(self, channel: str, user: str) -> str:
        with self._lock:
            code = secrets.token_hex(16)
            self._codes[code] = {"channel": channel, "user": user, "at": self._now()}
            return code

    def redeem(self, channel: str, code: str) -> str | None:
        """The user the code was issued for; a code works once, within 5 minutes."""
        with self._lock:
            info = self._codes.pop(code, None)
            if info is None or info["channel"] != channel:
                return None
            if self._now() - info["at"] > OAUTH_CODE_TTL:
                return None
            return str(info["user"])
