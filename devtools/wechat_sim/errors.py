"""WeChat / WeChat Work error codes the simulator answers with, and their errmsg texts.

The codes are WeChat's (global return-code pages of both platforms). The messages follow
WeChat's English style; like WeChat, the simulator appends ``rid: …`` (WeChat) or
``hint: […]`` (WeChat Work), so nobody is tempted to match on errmsg.
"""

from __future__ import annotations

import secrets
from typing import Any

MESSAGES: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40029: "invalid code",
    40037: "invalid template_id",
    40050: "chatid not found",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    41006: "media_id missing",
    41008: "missing code",
    41009: "missing openid",
    41011: "missing agentid",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    60003: "department not found",
    60011: "no privilege to access/modify contact/party/agent",
    60111: "userid not found",
    60102: "userid existed",
    81013: "user & party & tag all invalid",
    86001: "invalid chatid",
    86003: "chatid not found",
    86004: "invalid chat name",
    86005: "invalid chat owner",
    86007: "invalid chat member count, must be between 2 and 2000",
    86215: "chatid existed",
    86216: "invalid chat member userid",
}


def errmsg(code: int, detail: str | None = None, *, channel: str = "mp") -> str:
    text = detail or MESSAGES.get(code, "error")
    if code == 0:
        return "ok"
    if channel == "work":
        return f"{text}, hint: [{secrets.token_hex(8)}], from ip: 127.0.0.1"
    return f"{text} rid: {secrets.token_hex(12)}"


def error_body(code: int, detail: str | None = None, *, channel: str = "mp") -> dict[str, Any]:
    return {"errcode": code, "errmsg": errmsg(code, detail, channel=channel)}


class ApiError(Exception):
    """Raised inside an API view: answered as ``{"errcode": code, "errmsg": …}`` (HTTP 200)."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        super().__init__(f"{code}: {detail or MESSAGES.get(code, 'error')}")
        self.code = code
        self.detail = detail
