"""WeChat Work group chats (``appchat``)."""

from __future__ import annotations

import copy
from typing import Any

from .core import Store


class Chats(Store):
    def reset(self) -> None:
        with self._lock:
            self._chats: dict[str, dict[str, Any]] = {}

    def create(self, chatid: str, name: str, owner: str, userlist: list[str]) -> dict:
        with self._lock:
            chat = {
                "chatid": chatid,
                "name": name,
                "owner": owner,
                "userlist": list(userlist),
                "created_at": int(self._now()),
            }
            self._chats[chatid] = chat
            return dict(chat)

    def get(self, chatid: str) -> dict[str, Any] | None:
        with self._lock:
            chat = self._chats.get(chatid)
            return copy.deepcopy(chat) if chat else None

    def update(self, chatid: str, **changes: Any) -> dict[str, Any] | None:
        with self._lock:
            chat = self._chats.get(chatid)
            if chat is None:
                return None
            chat.update(changes)
            return copy.deepcopy(chat)

    def of_user(self, userid: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy([c for c in self._chats.values() if userid in c["userlist"]])
