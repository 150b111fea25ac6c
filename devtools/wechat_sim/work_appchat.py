"""The fake WeChat Work group chats (appchat/create, get, update, send): 2–2000 members,
chatid ≤ 32 characters [0-9a-zA-Z], as qyapi.weixin.qq.com checks them."""

from __future__ import annotations

import secrets
from typing import Any

from flask import request

from .api import api_view, get_config, get_state, read_json
from .errors import ApiError
from .work_api import (
    APPCHAT_TYPES,
    CHATID_RE,
    _ok,
    _validate_content,
    bp,
)


@bp.post("/cgi-bin/appchat/create")
@api_view("work")
def appchat_create() -> dict[str, Any]:
    data = read_json()
    userlist = data.get("userlist")
    if not isinstance(userlist, list):
        raise ApiError(40058, "userlist missing")
    userlist = list(dict.fromkeys(str(u) for u in userlist))
    if not 2 <= len(userlist) <= 2000:
        raise ApiError(86007)
    state = get_state()
    if get_config().strict_users and any(state.directory.user(u) is None for u in userlist):
        raise ApiError(86216)
    owner = str(data.get("owner") or userlist[0])
    if owner not in userlist:
        raise ApiError(86216, "owner not in userlist")
    chatid = data.get("chatid") or secrets.token_hex(8)
    if not CHATID_RE.match(str(chatid)):
        raise ApiError(86001, "invalid chatid")
    if state.chats.get(str(chatid)) is not None:
        raise ApiError(86215)
    name = str(data.get("name") or "群聊")[:50]
    state.chats.create(str(chatid), name, owner, userlist)
    return _ok(chatid=str(chatid))


@bp.get("/cgi-bin/appchat/get")
@api_view("work")
def appchat_get() -> dict[str, Any]:
    chat = get_state().chats.get(request.args.get("chatid", ""))
    if chat is None:
        raise ApiError(86003)
    return _ok(
        chat_info={k: chat[k] for k in ("chatid", "name", "owner", "userlist")},
    )


@bp.post("/cgi-bin/appchat/update")
@api_view("work")
def appchat_update() -> dict[str, Any]:
    data = read_json()
    state = get_state()
    chat = state.chats.get(str(data.get("chatid") or ""))
    if chat is None:
        raise ApiError(86003)
    members = [u for u in chat["userlist"] if u not in set(data.get("del_user_list") or [])]
    members += [u for u in data.get("add_user_list") or [] if u not in members]
    if not 2 <= len(members) <= 2000:
        raise ApiError(86007)
    changes: dict[str, Any] = {"userlist": members}
    if data.get("name"):
        changes["name"] = str(data["name"])[:50]
    if data.get("owner"):
        changes["owner"] = str(data["owner"])
    state.chats.update(chat["chatid"], **changes)
    return _ok()


@bp.post("/cgi-bin/appchat/send")
@api_view("work")
def appchat_send() -> dict[str, Any]:
    data = read_json()
    chatid = data.get("chatid")
    if not chatid:
        raise ApiError(40058, "chatid missing")
    state = get_state()
    if state.chats.get(str(chatid)) is None:
        raise ApiError(86003)
    msgtype = data.get("msgtype")
    if msgtype not in APPCHAT_TYPES:  # no template_card in group chats
        raise ApiError(40008)
    payload = _validate_content(msgtype, data)
    extra: dict[str, Any] = {}
    if msgtype in ("image", "voice", "video", "file"):
        extra["media_url"] = f"/_sim/media/{payload['media_id']}"
    state.conversations.deliver("appchat", str(chatid), msgtype, payload, source="appchat", **extra)
    return _ok()


# ---------------------------------------------------------------------- directory
