"""WeChat Work group chats (``appchat``): who is in them, which app created them, and the
corporation's quotas (new chats a day, member changes an hour)."""

from __future__ import annotations

import copy
from typing import Any

from .core import Store

CHINA_OFFSET = 8 * 3600  # WeChat Work's daily quotas reset at midnight, Beijing time
HOUR = 3600


def china_day(timestamp: float) -> int:
    return int((timestamp + CHINA_OFFSET) // 86400)


class Chats(Store):
    def reset(self) -> None:
        with self._lock:
            self._chats: dict[str, dict[str, Any]] = {}
            self._created: list[float] = []  # when each chat was created (daily quota)
            self._changes: list[tuple[float, int]] = []  # (when, member changes) of updates

    def create(
        self, chatid: str, name: str, owner: str, userlist: list[str], agentid: str = ""
    ) -> dict[str, Any]:
        """A new chat; ``agentid`` is the app that created it (only it may update / send)."""
        with self._lock:
            now = self._now()
            chat = {
                "chatid": chatid,
                "name": name,
                "owner": owner,
                "userlist": list(userlist),
                "agentid": str(agentid),
                "created_at": int(now),
            }
            self._chats[chatid] = chat
            self._created.append(now)
            return copy.deepcopy(chat)

    def created_today(self) -> int:
        """How many chats the corporation created today (Beijing time)."""
        with self._lock:
            today = china_day(self._now())
            return sum(1 for t in self._created if china_day(t) == today)

    def changes_last_hour(self) -> int:
        """Member changes (added + removed) made by ``appchat/update`` in the last hour."""
        with self._lock:
            since = self._now() - HOUR
            return sum(n for t, n in self._changes if t > since)

    def get(self, chatid: str) -> dict[str, Any] | None:
        with self._lock:
            chat = self._chats.get(chatid)
            return copy.deepcopy(chat) if chat else None

    def update(self, chatid: str, *, member_changes: int = 0, **changes: Any) -> dict | None:
        with self._lock:
            chat = self._chats.get(chatid)
            if chat is None:
                return None
            chat.update(copy.deepcopy(changes))
            if member_changes:
                self._changes.append((self._now(), member_changes))
            return copy.deepcopy(chat)

    def of_user(self, userid: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy([c for c in self._chats.values() if userid in c["userlist"]])

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._chats.values()))
