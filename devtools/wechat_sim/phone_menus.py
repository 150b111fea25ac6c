"""The menus the phone page shows: what the product pushed, else a default per channel."""

from __future__ import annotations

from typing import Any

from .api import get_state


def default_menu(channel: str, product_base_url: str) -> dict[str, Any]:
    if channel == "mp":
        return {
            "button": [
                {
                    "name": "血管通路",
                    "sub_button": [
                        {"type": "view", "name": "通路知识", "url": product_base_url + "/"},
                        {"type": "click", "name": "维护提醒", "key": "my_reminders"},
                        {"type": "click", "name": "上传报告", "key": "upload_report"},
                    ],
                },
                {"type": "click", "name": "我的导管", "key": "my_catheter"},
                {
                    "name": "更多",
                    "sub_button": [
                        {
                            "type": "view",
                            "name": "绑定就诊人",
                            "url": product_base_url + "/h5/bind",
                        },
                        {"type": "click", "name": "科普宣教", "key": "education"},
                    ],
                },
            ]
        }
    return {
        "button": [
            {"type": "scancode_waitmsg", "name": "扫码", "key": "scan_patient"},
            {"type": "click", "name": "今日待维护", "key": "due_today"},
            {
                "name": "更多",
                "sub_button": [
                    {"type": "click", "name": "查找患者", "key": "search_patient"},
                    {"type": "click", "name": "我的会诊", "key": "my_consultations"},
                ],
            },
        ]
    }


def menu_for(channel: str) -> dict[str, Any]:
    """The menu the product pushed with ``menu/create``, else the simulator's default."""
    state = get_state()
    pushed = state.menus.get(channel)
    if pushed:
        return {"menu": pushed, "pushed": True}
    return {"menu": default_menu(channel, state.config.product_base_url), "pushed": False}


# ---------------------------------------------------------------------- page
