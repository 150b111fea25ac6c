"""The fake WeChat Work (企业微信) API, mounted under ``/work`` (paths as on qyapi.weixin.qq.com).

Set the product's ``WECOM_API_BASE`` to ``http://127.0.0.1:9100/work``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from .api import api_view, get_config, get_state, read_json, require
from .errors import ApiError
from .mp_api import get_media_response, validate_menu
from .stores import DEFAULT_CLINICIAN, DEFAULT_DUPLICATE_INTERVAL, message_digest
from .work_media import upload_work_media

bp = Blueprint("sim_work", __name__)

SEND_TYPES = {
    "text",
    "image",
    "voice",
    "video",
    "file",
    "textcard",
    "news",
    "mpnews",
    "markdown",
    "miniprogram_notice",
    "template_card",
}
APPCHAT_TYPES = {
    "text",
    "image",
    "voice",
    "video",
    "file",
    "textcard",
    "news",
    "mpnews",
    "markdown",
}
CARD_TYPES = {
    "text_notice",
    "news_notice",
    "button_interaction",
    "vote_interaction",
    "multiple_interaction",
}
INTERACTIVE_CARDS = {"button_interaction", "vote_interaction", "multiple_interaction"}
CHATID_RE = re.compile(r"^[0-9a-zA-Z]{1,32}$")
TEXTCARD_LIMITS = {"title": 128, "description": 512}  # bytes (UTF-8)


def _ok(**extra: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **extra}


def _check_agent(value: Any) -> None:
    if value in (None, ""):
        raise ApiError(41011)
    if str(value) != str(get_config().work_agent_id):
        raise ApiError(40056)


# ---------------------------------------------------------------------- access token
@bp.get("/cgi-bin/gettoken")
@api_view("work", auth=False)
def gettoken() -> dict[str, Any]:
    cfg = get_config()
    corpid, secret = request.args.get("corpid"), request.args.get("corpsecret")
    if not corpid:
        raise ApiError(41002, "corpid missing")
    if corpid != cfg.work_corp_id:
        raise ApiError(40013, "invalid corpid")
    if not secret:
        raise ApiError(41004, "corpsecret missing")
    if secret != cfg.work_secret:
        raise ApiError(40001, "invalid credential")
    token, expires_in = get_state().tokens.issue("work")
    if token is None:
        raise ApiError(45009)
    return _ok(access_token=token, expires_in=expires_in)


# ---------------------------------------------------------------------- message content
def _validate_content(msgtype: str, data: dict[str, Any]) -> dict[str, Any]:
    payload = data.get(msgtype)
    if not isinstance(payload, dict):
        raise ApiError(47001, f"data format error: {msgtype} missing")
    if msgtype in ("text", "markdown"):
        content = str(payload.get("content") or "")
        if not content.strip():
            raise ApiError(44004)
        if len(content.encode("utf-8")) > (2048 if msgtype == "text" else 4096):
            raise ApiError(45002)
    elif msgtype in ("image", "voice", "video", "file"):
        _check_media(msgtype, payload.get("media_id"))
    elif msgtype == "textcard":
        for name in ("title", "description", "url"):
            require(payload, name, 40058, f"textcard.{name} missing")
        for name, limit in TEXTCARD_LIMITS.items():
            if len(str(payload[name]).encode("utf-8")) > limit:
                raise ApiError(45002, f"textcard.{name} longer than {limit} bytes")
    elif msgtype in ("news", "mpnews"):
        articles = payload.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(44003)
        if len(articles) > 8:
            raise ApiError(45008)
        for article in articles:
            if not isinstance(article, dict) or not article.get("title"):
                raise ApiError(40058, "article title missing")
    elif msgtype == "template_card":
        _validate_card(payload)
    return payload


def _check_media(msgtype: str, media_id: Any) -> None:
    """The media must exist (3-day life) and be of the message's type (any type may go as a
    file); otherwise 40007, as WeChat Work answers."""
    media = get_state().media.get("work", str(media_id)) if media_id else None
    if media is None:
        raise ApiError(40007)
    if msgtype != "file" and media["type"] != msgtype:
        raise ApiError(40007, f"invalid media_id: a {media['type']} media sent as {msgtype}")


def media_extra(payload: dict[str, Any]) -> dict[str, Any]:
    """What the phone needs to show a media message: its URL, name and size."""
    media = get_state().media.get("work", str(payload.get("media_id") or ""))
    if media is None:
        return {}
    return {
        "media_url": f"/_sim/media/{media['media_id']}",
        "media_name": media["filename"],
        "media_size": media["size"],
        "media_content_type": media["content_type"],
    }


def _validate_card(card: dict[str, Any]) -> None:
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise ApiError(40058, "template_card.card_type invalid")
    if card_type in INTERACTIVE_CARDS:
        task_id = card.get("task_id")
        if not task_id or not re.match(r"^[0-9a-zA-Z_\-@]{1,128}$", str(task_id)):
            raise ApiError(40058, "template_card.task_id missing or invalid")
        if get_state().cards.get(str(task_id)) is not None:
            raise ApiError(40058, "template_card.task_id existed")
    if card_type == "button_interaction":
        buttons = card.get("button_list")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
            raise ApiError(40058, "template_card.button_list size invalid")
    if card_type in ("vote_interaction", "multiple_interaction") and not card.get("submit_button"):
        raise ApiError(40058, "template_card.submit_button missing")
    if card_type in ("text_notice", "news_notice"):
        title = (card.get("main_title") or {}).get("title")
        if not title and not card.get("sub_title_text"):
            raise ApiError(40058, "template_card.main_title.title missing")
        if not card.get("card_action"):
            raise ApiError(40058, "template_card.card_action missing")


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if str(v)]
    return [v for v in str(value or "").split("|") if v]


def _recipients(data: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """→ (userids to deliver to, invalid users, invalid parties)."""
    state = get_state()
    strict = get_config().strict_users
    users: list[str] = []
    invalid_users: list[str] = []
    invalid_parties: list[str] = []
    for uid in _split(data.get("touser")):
        if uid == "@all":
            users.extend(u["userid"] for u in state.directory.users())
        elif strict and state.directory.user(uid) is None:
            invalid_users.append(uid)
        else:
            users.append(uid)
    known_depts = {d["id"] for d in state.directory.departments()}
    for party in _split(data.get("toparty")):
        if not party.isdigit() or int(party) not in known_depts:
            invalid_parties.append(party)
        else:
            users.extend(state.directory.users_in([int(party)]))
    return list(dict.fromkeys(users)), invalid_users, invalid_parties


@bp.post("/cgi-bin/message/send")
@api_view("work")
def message_send() -> dict[str, Any]:
    data = read_json()
    _check_agent(data.get("agentid"))
    msgtype = data.get("msgtype")
    if msgtype not in SEND_TYPES:
        raise ApiError(40008)
    if not any(data.get(k) for k in ("touser", "toparty", "totag")):
        raise ApiError(40058, "touser, toparty and totag are all empty")
    payload = _validate_content(msgtype, data)
    users, invalid_users, invalid_parties = _recipients(data)
    invalid_tags = _split(data.get("totag"))  # the simulator has no tags
    result = _ok(
        invaliduser="|".join(invalid_users),
        invalidparty="|".join(invalid_parties),
        invalidtag="|".join(invalid_tags),
        unlicenseduser="",
        msgid=secrets.token_urlsafe(24),
    )
    if not users:
        result.update(errcode=81013, errmsg="user & party & tag all invalid")
        return result

    state = get_state()
    dup_check = str(data.get("enable_duplicate_check", 0)) == "1"
    interval = min(
        int(data.get("duplicate_check_interval") or DEFAULT_DUPLICATE_INTERVAL), 4 * 3600
    )
    digest = message_digest(msgtype, payload)
    extra = media_extra(payload) if msgtype in ("image", "voice", "video", "file") else {}
    delivered: list[int] = []
    for uid in users:
        if dup_check and state.work_sends.is_duplicate(uid, digest, interval):
            state.work_sends.drop(uid, "duplicate", data)
            continue
        if not state.work_sends.rate_ok(uid):
            state.work_sends.drop(uid, "rate_limit", data)
            continue
        entry = state.conversations.deliver(
            "work", uid, msgtype, payload, source="message", **extra
        )
        state.work_sends.remember(uid, digest)
        delivered.append(entry["id"])
    if msgtype == "template_card" and payload.get("card_type") in INTERACTIVE_CARDS:
        task_id = str(payload["task_id"])
        state.cards.register(task_id, payload, delivered)
        result["response_code"] = state.cards.issue_code(task_id, None)
    return result


@bp.post("/cgi-bin/message/update_template_card")
@api_view("work")
def update_template_card() -> dict[str, Any]:
    data = read_json()
    _check_agent(data.get("agentid"))
    code = data.get("response_code")
    if not code:
        raise ApiError(40058, "response_code missing")
    state = get_state()
    info = state.cards.use_code(str(code))
    if info is None:
        raise ApiError(40058, "response_code invalid, used or expired")
    button = data.get("button")
    card = data.get("template_card")
    if not button and not card:
        raise ApiError(40058, "button or template_card missing")
    # whose copy of the card changes: userids; else the clicking member; atall / the code
    # from message/send: every recipient (an empty set below means everyone)
    targets = set(_split(data.get("userids")))
    if str(data.get("atall", 0)) == "1":
        targets = set()
    elif not targets and info["userid"]:
        targets = {info["userid"]}
    for entry in state.cards.entries(info["task_id"]):
        if targets and entry["user"] not in targets:
            continue
        if card:
            state.conversations.update(entry["id"], payload=card, card_update=None)
        else:
            replace_name = button.get("replace_name") if isinstance(button, dict) else None
            state.conversations.update(entry["id"], card_update={"replace_name": replace_name})
    return _ok(invaliduser=[])


# ---------------------------------------------------------------------- group chats
@bp.get("/connect/oauth2/authorize")
def oauth_authorize() -> BaseResponse:
    """Stands in for open.weixin.qq.com's authorize page: redirects back with a code for the
    phone's current clinician (cookie ``sim_work_user``, or ``?sim_user=``)."""
    args = request.args
    if args.get("appid") != get_config().work_corp_id or not args.get("redirect_uri"):
        return Response("appid 或 redirect_uri 参数错误", status=400, mimetype="text/plain")
    userid = args.get("sim_user") or request.cookies.get("sim_work_user") or DEFAULT_CLINICIAN
    code = get_state().oauth.issue("work", userid)
    target = args["redirect_uri"]
    sep = "&" if "?" in target else "?"
    return redirect(target + sep + urlencode({"code": code, "state": args.get("state", "")}))


def _redeem() -> str:
    code = request.args.get("code")
    if not code:
        raise ApiError(41008)
    userid = get_state().oauth.redeem("work", code)
    if userid is None:
        raise ApiError(40029)
    return userid


@bp.get("/cgi-bin/auth/getuserinfo")
@api_view("work")
def auth_getuserinfo() -> dict[str, Any]:
    return _ok(userid=_redeem(), user_ticket=secrets.token_urlsafe(24), expires_in=1800)


@bp.get("/cgi-bin/user/getuserinfo")
@api_view("work")
def legacy_getuserinfo() -> dict[str, Any]:
    """The legacy endpoint wechatpy 1.8.18's ``oauth.get_user_info`` calls."""
    return _ok(UserId=_redeem(), DeviceId="")


# ---------------------------------------------------------------------- media and menu
@bp.post("/cgi-bin/media/upload")
@api_view("work")
def media_upload() -> dict[str, Any]:
    info = upload_work_media()
    return _ok(type=info["type"], media_id=info["media_id"], created_at=str(info["created_at"]))


@bp.get("/cgi-bin/media/get")
@api_view("work")
def media_get() -> Response:
    return get_media_response("work")


@bp.post("/cgi-bin/menu/create")
@api_view("work")
def menu_create() -> dict[str, Any]:
    _check_agent(request.args.get("agentid"))
    get_state().menus.set("work", validate_menu(read_json()))
    return _ok()


@bp.get("/cgi-bin/menu/get")
@api_view("work")
def menu_get() -> dict[str, Any]:
    _check_agent(request.args.get("agentid"))
    menu = get_state().menus.get("work")
    if menu is None:
        raise ApiError(46003)
    return _ok(**menu)


# the group-chat and directory endpoints live in modules of their own, on this blueprint
from . import work_appchat, work_directory  # noqa: E402, F401
