"""What the phone shows: per conversation, the bot's messages (the simulator's outbox), the
person's own messages and events, and system notes."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .core import Store


class Conversations(Store):
    def reset(self) -> None:
        with self._lock:
            self._conversations: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._entries: dict[int, dict[str, Any]] = {}

    def _append(self, channel: str, user: str, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {
                "id": self._core.next_seq(),
                "rev": 0,
                "time": self._now(),
                "channel": channel,
                "user" if channel != "appchat" else "chat": user,
                **entry,
            }
            self._conversations.setdefault((channel, user), []).append(entry)
            self._entries[entry["id"]] = entry
            return copy.deepcopy(entry)

    def deliver(
        self,
        channel: str,
        user: str,
        msgtype: str,
        payload: Any,
        *,
        source: str = "api",
        **extra: Any,
    ) -> dict[str, Any]:
        """Something the bot sent to ``user`` (openid / userid / chatid for ``appchat``)."""
        entry = {"msgtype": msgtype, "payload": copy.deepcopy(payload), "source": source}
        return self._append(channel, user, {"direction": "bot", **entry, **extra})

    def log_user(
        self, channel: str, user: str, msgtype: str, payload: Any, **extra: Any
    ) -> dict[str, Any]:
        """Something the (simulated) person did on the phone: a message or an event."""
        entry = {"direction": "user", "msgtype": msgtype, "payload": copy.deepcopy(payload)}
        return self._append(channel, user, entry | extra)

    def log_system(self, channel: str, user: str, text: str, level: str = "error") -> dict:
        """A note shown in the phone's chat (e.g. "回调失败：HTTP 502 …")."""
        entry = {"direction": "system", "msgtype": "notice", "payload": {"text": text}}
        return self._append(channel, user, {**entry, "level": level})

    def messages(
        self,
        channel: str,
        user: str,
        *,
        include_user: bool = False,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        """What the bot sent to ``user`` in order (``include_user``: the person's own messages
        and the system notes too). ``since``: only entries with a greater id or a newer rev."""
        with self._lock:
            out = [
                e
                for e in self._conversations.get((channel, user), [])
                if (include_user or e["direction"] == "bot")
                and (e["id"] > since or e.get("updated_seq", 0) > since)
            ]
            return copy.deepcopy(out)

    def entries(self, entry_ids: Iterable[int]) -> list[dict[str, Any]]:
        """The entries of ``entry_ids`` that exist, in that order."""
        with self._lock:
            return copy.deepcopy([self._entries[i] for i in entry_ids if i in self._entries])

    def update(self, entry_id: int, **changes: Any) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is None:
                return None
            entry.update(copy.deepcopy(changes))
            entry["rev"] += 1
            entry["updated_seq"] = self._core.next_seq()
            return copy.deepcopy(entry)
