"""Every API call the product made to the simulator, with its answer."""

from __future__ import annotations

import copy
from typing import Any

from .core import CHANNELS, Store


def norm_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


class ApiCalls(Store):
    def reset(self) -> None:
        with self._lock:
            self._calls: dict[str, list[dict[str, Any]]] = {c: [] for c in CHANNELS}

    def record(self, channel: str, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            seq, now = self._core.next_seq(), self._now()
            entry = {"seq": seq, "time": now, "channel": channel, **entry}
            self._calls.setdefault(channel, []).append(entry)
            return copy.deepcopy(entry)

    def find(
        self, channel: str | None = None, path: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded API calls, oldest first. ``path`` may be the full path
        (``/mp/cgi-bin/message/custom/send``) or the API path (``/cgi-bin/message/custom/send``)."""
        with self._lock:
            channels = [channel] if channel else list(self._calls)
            out = [c for ch in channels for c in self._calls.get(ch, [])]
            if path:
                p = norm_path(path)
                out = [c for c in out if p in (c["path"], c["api_path"])]
            if method:
                out = [c for c in out if c["method"] == method.upper()]
            out.sort(key=lambda c: c["seq"])
            return copy.deepcopy(out)
