"""Faults a test arms: the next calls to a path fail, slowly if asked."""

from __future__ import annotations

import fnmatch
from typing import Any

from .api_calls import norm_path
from .core import Store


class Faults(Store):
    def reset(self) -> None:
        with self._lock:
            self._faults: list[dict[str, Any]] = []

    def add(
        self,
        path: str,
        errcode: int | None = None,
        *,
        errmsg: str | None = None,
        http_status: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> dict[str, Any]:
        """The next ``times`` calls to ``path`` (full path, ``*`` wildcards allowed) fail:
        with ``errcode`` (HTTP 200 JSON, as WeChat does) and/or ``http_status``; ``delay``
        seconds before answering (to exercise client timeouts)."""
        if errcode is None and http_status is None:
            raise ValueError("a fault needs an errcode or an http_status")
        with self._lock:
            fault = {
                "id": self._core.next_seq(),
                "path": norm_path(path),
                "errcode": errcode,
                "errmsg": errmsg,
                "http_status": http_status,
                "times": int(times),
                "delay": float(delay),
            }
            self._faults.append(fault)
            return dict(fault)

    def take(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self._faults:
                if fault["times"] > 0 and fnmatch.fnmatchcase(path, fault["path"]):
                    fault["times"] -= 1
                    taken = dict(fault)
                    self._faults = [f for f in self._faults if f["times"] > 0]
                    return taken
            return None

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults = []
