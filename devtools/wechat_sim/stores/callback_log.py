"""Every callback the phone page posted to the product, with the outcome."""

from __future__ import annotations

import copy
from typing import Any

from .core import Store


class CallbackLog(Store):
    def reset(self) -> None:
        with self._lock:
            self._callbacks: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"seq": self._core.next_seq(), "time": self._now(), **entry}
            self._callbacks.append(entry)
            return copy.deepcopy(entry)

    def find(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(
                [c for c in self._callbacks if channel is None or c["channel"] == channel]
            )
