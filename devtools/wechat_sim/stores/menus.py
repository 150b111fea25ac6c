"""The custom menu each platform's app pushed."""

from __future__ import annotations

import copy
from typing import Any

from .core import CHANNELS, Store


class Menus(Store):
    def reset(self) -> None:
        with self._lock:
            self._menus: dict[str, dict[str, Any] | None] = {c: None for c in CHANNELS}

    def set(self, channel: str, menu: dict[str, Any] | None) -> None:
        with self._lock:
            self._menus[channel] = copy.deepcopy(menu)

    def get(self, channel: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._menus.get(channel))
