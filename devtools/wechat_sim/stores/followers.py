"""The official account's followers (``user/info``)."""

from __future__ import annotations

from typing import Any

from .core import Store

DEFAULT_PATIENT = "o_sim_patient_1"


class Followers(Store):
    def reset(self) -> None:
        with self._lock:
            self._users: dict[str, dict[str, Any]] = {}

    def add(self, openid: str, **info: Any) -> dict[str, Any]:
        """``openid`` follows the account (if not yet); ``info`` updates its profile."""
        with self._lock:
            user = self._users.get(openid)
            if user is None:
                user = {
                    "subscribe": 1,
                    "openid": openid,
                    "nickname": "",
                    "sex": 0,
                    "language": "zh_CN",
                    "city": "",
                    "province": "",
                    "country": "",
                    "headimgurl": "",
                    "subscribe_time": int(self._now()),
                    "remark": "",
                    "groupid": 0,
                    "tagid_list": [],
                    "subscribe_scene": "ADD_SCENE_QR_CODE",
                    "qr_scene": 0,
                    "qr_scene_str": "",
                }
                self._users[openid] = user
            user.update(info)
            return dict(user)

    def get(self, openid: str) -> dict[str, Any] | None:
        with self._lock:
            user = self._users.get(openid)
            return dict(user) if user else None
