"""WeChat Work's sending rules: per-member rate limits and the duplicate check, and the
messages they dropped (accepted, never delivered)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections import deque
from typing import Any

from ..config import SimConfig
from .core import Core, Store

WORK_PER_MINUTE = 30  # WeChat Work: per app and member, excess dropped silently
WORK_PER_HOUR = 1000
DEFAULT_DUPLICATE_INTERVAL = 1800  # message/send duplicate_check_interval default (max 4 h)


def message_digest(msgtype: str, payload: Any) -> str:
    data = json.dumps([msgtype, payload], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class WorkSends(Store):
    def __init__(self, core: Core, config: SimConfig) -> None:
        self._config = config
        super().__init__(core)

    def reset(self) -> None:
        with self._lock:
            self._sends: dict[str, deque[float]] = {}
            self._sent: dict[tuple[str, str], float] = {}
            self._dropped: list[dict[str, Any]] = []

    def rate_ok(self, userid: str) -> bool:
        """Count one message to ``userid``; False when over 30/min or 1,000/h (dropped)."""
        with self._lock:
            if not self._config.work_rate_limit:
                return True
            now = self._now()
            sends = self._sends.setdefault(userid, deque())
            while sends and sends[0] <= now - 3600:
                sends.popleft()
            last_minute = sum(1 for t in sends if t > now - 60)
            if last_minute >= WORK_PER_MINUTE or len(sends) >= WORK_PER_HOUR:
                return False
            sends.append(now)
            return True

    def is_duplicate(self, userid: str, digest: str, interval: float) -> bool:
        with self._lock:
            last = self._sent.get((userid, digest))
            return last is not None and self._now() - last < interval

    def remember(self, userid: str, digest: str) -> None:
        with self._lock:
            self._sent[(userid, digest)] = self._now()

    def drop(self, userid: str, reason: str, body: Any) -> None:
        with self._lock:
            self._dropped.append(
                {"time": self._now(), "user": userid, "reason": reason, "body": copy.deepcopy(body)}
            )

    def dropped(self) -> list[dict[str, Any]]:
        """Work messages accepted but not delivered (duplicate check, rate limit)."""
        with self._lock:
            return copy.deepcopy(self._dropped)
