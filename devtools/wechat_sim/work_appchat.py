"""The fake WeChat Work group chats (appchat/create, get, update, send), with the limits and
error codes qyapi.weixin.qq.com answers with:

- the app's visible range must be the whole corporation → 60011 (create, update, send, get);
- 2–2000 members → 86007; chatid ≤ 32 characters [0-9a-zA-Z] → 86001, unique → 86215;
  the name may be empty and is cut to 50 characters (as documented); the owner must be a
  member → 86005 (参数 群主不合法; undocumented for this case: the closest code);
- members must exist in the directory (when ``strict_users``) → 86216;
- 1,000 new chats per corporation a day, 1,000 member changes an hour → 45009
  (WeChat Work's "api call over limit" code; the documentation names no code of its own);
- only the app that created a chat may update it or send to it. Chats belong to their app,
  so another app is told the chat does not exist (86003), as WeChat Work answers.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import request

from .api import api_view, get_config, get_state, read_json
from .errors import ApiError
from .work_api import APPCHAT_TYPES, CHATID_RE, _ok, _validate_content, bp, media_extra

NAME_MAX = 50  # characters
MEMBERS_MIN, MEMBERS_MAX = 2, 2000


def _caller_agent() -> str:
    """The app calling: the simulator has one app, whose secret every token comes from."""
    return str(get_config().work_agent_id)


def _check_visible_range() -> None:
    if not get_config().work_app_visible_to_all:
        raise ApiError(60011, "no privilege: the app's visible range must be the whole corporation")


def _check_members(userlist: list[str]) -> None:
    if not MEMBERS_MIN <= len(userlist) <= MEMBERS_MAX:
        raise ApiError(86007)
    state = get_state()
    if get_config().strict_users:
        unknown = [u for u in userlist if state.directory.user(u) is None]
        if unknown:
            raise ApiError(86216, f"invalid chat member userid: {'|'.join(unknown)}")


def _name(value: Any) -> str:
    """The documentation: "at most 50 utf8 characters, longer names are truncated"."""
    return str(value or "")[:NAME_MAX]


def _own_chat(chatid: Any) -> dict[str, Any]:
    chat = get_state().chats.get(str(chatid or ""))
    if chat is None or chat["agentid"] not in ("", _caller_agent()):
        raise ApiError(86003)
    return chat


def _user_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(47001, "user list must be an array")
    return list(dict.fromkeys(str(u) for u in value if str(u)))


@bp.post("/cgi-bin/appchat/create")
@api_view("work")
def appchat_create() -> dict[str, Any]:
    _check_visible_range()
    data = read_json()
    if not isinstance(data.get("userlist"), list):
        raise ApiError(40058, "userlist missing")
    userlist = _user_ids(data["userlist"])
    _check_members(userlist)
    owner = str(data.get("owner") or userlist[0])
    if owner not in userlist:
        raise ApiError(86005, "invalid chat owner: not in userlist")
    name = _name(data.get("name"))
    state = get_state()
    chatid = str(data.get("chatid") or secrets.token_hex(8))
    if not CHATID_RE.match(chatid):
        raise ApiError(86001, "invalid chatid")
    if state.chats.get(chatid) is not None:
        raise ApiError(86215)
    limit = get_config().appchat_daily_create_limit
    if state.chats.created_today() >= limit:
        raise ApiError(45009, f"api freq out of limit: at most {limit} new group chats a day")
    state.chats.create(chatid, name, owner, userlist, agentid=_caller_agent())
    return _ok(chatid=chatid)


@bp.get("/cgi-bin/appchat/get")
@api_view("work")
def appchat_get() -> dict[str, Any]:
    _check_visible_range()
    chat = _own_chat(request.args.get("chatid"))
    return _ok(chat_info={k: chat[k] for k in ("chatid", "name", "owner", "userlist")})


@bp.post("/cgi-bin/appchat/update")
@api_view("work")
def appchat_update() -> dict[str, Any]:
    _check_visible_range()
    data = read_json()
    chat = _own_chat(data.get("chatid"))
    removed = [u for u in _user_ids(data.get("del_user_list")) if u in chat["userlist"]]
    members = [u for u in chat["userlist"] if u not in removed]
    added = [u for u in _user_ids(data.get("add_user_list")) if u not in members]
    members += added
    _check_members(members)
    changes: dict[str, Any] = {"userlist": members}
    if data.get("name") is not None:
        changes["name"] = _name(data["name"])
    owner = str(data.get("owner") or chat["owner"])
    if owner not in members:
        raise ApiError(86005, "invalid chat owner: not a member of the chat")
    changes["owner"] = owner
    state = get_state()
    limit = get_config().appchat_hourly_change_limit
    count = len(added) + len(removed)
    if count and state.chats.changes_last_hour() + count > limit:
        raise ApiError(45009, f"api freq out of limit: at most {limit} member changes an hour")
    state.chats.update(chat["chatid"], member_changes=count, **changes)
    return _ok()


@bp.post("/cgi-bin/appchat/send")
@api_view("work")
def appchat_send() -> dict[str, Any]:
    _check_visible_range()
    data = read_json()
    if not data.get("chatid"):
        raise ApiError(40058, "chatid missing")
    chat = _own_chat(data["chatid"])
    msgtype = data.get("msgtype")
    if msgtype not in APPCHAT_TYPES:  # no template_card in group chats
        raise ApiError(40008)
    payload = _validate_content(msgtype, data)
    get_state().conversations.deliver(
        "appchat", chat["chatid"], msgtype, payload, source="appchat", **media_extra(payload)
    )
    return _ok()
