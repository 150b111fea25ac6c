"""The fake official-account (公众号) API, mounted under ``/mp`` (paths as on api.weixin.qq.com).

Set the product's ``WECHAT_API_BASE`` to ``http://127.0.0.1:9100/mp``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from .api import api_view, get_config, get_state, read_json
from .errors import ApiError
from .stores import DEFAULT_PATIENT

bp = Blueprint("sim_mp", __name__)

CUSTOM_TYPES = {
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
    "link",
}
MENU_TYPES = {
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
    "miniprogram",
}
MEDIA_TYPES = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "thumb": 64 << 10}
# subscribe-message value limits by key prefix (characters)
SUBSCRIBE_LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10, "number": 32}


# ---------------------------------------------------------------------- access token
def _token(appid: str | None, secret: str | None, grant_type: str | None) -> dict[str, Any]:
    cfg = get_config()
    if grant_type != "client_credential":
        raise ApiError(40002)
    if not appid:
        raise ApiError(41002)
    if appid != cfg.mp_appid:
        raise ApiError(40013)
    if not secret:
        raise ApiError(41004)
    if secret != cfg.mp_secret:
        raise ApiError(40001, "invalid credential, appsecret is wrong")
    token, expires_in = get_state().tokens.issue("mp")
    if token is None:
        raise ApiError(45009)
    return {"access_token": token, "expires_in": expires_in}


@bp.get("/cgi-bin/token")
@api_view("mp", auth=False)
def token() -> dict[str, Any]:
    a = request.args
    return _token(a.get("appid"), a.get("secret"), a.get("grant_type"))


@bp.post("/cgi-bin/stable_token")
@api_view("mp", auth=False)
def stable_token() -> dict[str, Any]:
    data = read_json()
    return _token(data.get("appid"), data.get("secret"), data.get("grant_type"))


@bp.get("/cgi-bin/ticket/getticket")
@api_view("mp")
def jsapi_ticket() -> dict[str, Any]:
    """The JS-SDK ticket a page's ``wx.config`` signature is made with."""
    if request.args.get("type") != "jsapi":
        raise ApiError(40097, "invalid args: type must be jsapi")
    return {
        "errcode": 0,
        "errmsg": "ok",
        "ticket": get_state().tokens.jsapi_ticket(),
        "expires_in": 7200,
    }


# ---------------------------------------------------------------------- messages
def _check_openid(openid: Any) -> str:
    if not openid or not isinstance(openid, str):
        raise ApiError(40003)
    if get_config().strict_users and get_state().followers.get(openid) is None:
        raise ApiError(40003)
    return openid


def _validate_custom(msgtype: str, data: dict[str, Any]) -> dict[str, Any]:
    state = get_state()
    payload = data.get(msgtype)
    if not isinstance(payload, dict):
        raise ApiError(47001, f"data format error: {msgtype} missing")
    if msgtype == "text":
        if not str(payload.get("content") or "").strip():
            raise ApiError(44004)
        if len(str(payload["content"]).encode("utf-8")) > 2048:
            raise ApiError(45002, "content size out of limit")
    elif msgtype in ("image", "voice", "video"):
        media_id = payload.get("media_id")
        if not media_id or state.media.get("mp", str(media_id)) is None:
            raise ApiError(40007)
    elif msgtype == "news":
        articles = payload.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(44003)
        if len(articles) > 1:
            raise ApiError(45008)
        for article in articles:
            if not isinstance(article, dict) or not article.get("title"):
                raise ApiError(47001, "data format error: article title missing")
    elif msgtype == "link":
        for name in ("title", "url"):
            if not payload.get(name):
                raise ApiError(47001, f"data format error: link.{name} missing")
    return payload


@bp.post("/cgi-bin/message/custom/send")
@api_view("mp")
def custom_send() -> dict[str, Any]:
    data = read_json()
    openid = _check_openid(data.get("touser"))
    msgtype = data.get("msgtype")
    if msgtype not in CUSTOM_TYPES:
        raise ApiError(40008)
    payload = _validate_custom(msgtype, data)
    state = get_state()
    code = state.windows.consume(openid)
    if code:
        raise ApiError(code)
    extra: dict[str, Any] = {}
    if msgtype in ("image", "voice", "video"):
        extra["media_url"] = f"/_sim/media/{payload['media_id']}"
    if data.get("customservice"):
        extra["kf_account"] = data["customservice"].get("kf_account")
    state.conversations.deliver("mp", openid, msgtype, payload, source="custom", **extra)
    return {"errcode": 0, "errmsg": "ok"}


@bp.post("/cgi-bin/message/custom/typing")
@api_view("mp")
def custom_typing() -> dict[str, Any]:
    data = read_json()
    _check_openid(data.get("touser"))
    if data.get("command") not in ("Typing", "CancelTyping"):
        raise ApiError(47001, "data format error: command")
    return {"errcode": 0, "errmsg": "ok"}


@bp.post("/cgi-bin/message/template/send")
@api_view("mp")
def template_send() -> dict[str, Any]:
    data = read_json()
    openid = _check_openid(data.get("touser"))
    template_id = data.get("template_id")
    if not template_id or not isinstance(template_id, str):
        raise ApiError(40037)
    fields = data.get("data")
    if not isinstance(fields, dict):
        raise ApiError(47001, "data format error: data")
    state = get_state()
    msgid = state.core.next_msg_id()
    payload = {k: data[k] for k in ("template_id", "url", "miniprogram", "data") if k in data}
    state.conversations.deliver("mp", openid, "template", payload, source="template", msgid=msgid)
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@bp.post("/cgi-bin/message/subscribe/bizsend")
@api_view("mp")
def subscribe_send() -> dict[str, Any]:
    data = read_json()
    openid = _check_openid(data.get("touser"))
    template_id = data.get("template_id")
    if not template_id or not isinstance(template_id, str):
        raise ApiError(40037)
    fields = data.get("data")
    if not isinstance(fields, dict) or not fields:
        raise ApiError(47003, "argument invalid! data is empty")
    for key, item in fields.items():
        value = item.get("value") if isinstance(item, dict) else None
        if value is None or str(value) == "":
            raise ApiError(47003, f"argument invalid! data.{key}.value is empty")
        for prefix, limit in SUBSCRIBE_LIMITS.items():
            if key.startswith(prefix) and len(str(value)) > limit:
                raise ApiError(47003, f"argument invalid! data.{key}.value exceeds limit {limit}")
    state = get_state()
    if not state.subscriptions.allows(openid, template_id):
        raise ApiError(43101)
    payload = {k: data[k] for k in ("template_id", "page", "miniprogram", "data") if k in data}
    state.conversations.deliver("mp", openid, "subscribe", payload, source="subscribe")
    return {"errcode": 0, "errmsg": "ok"}


# ---------------------------------------------------------------------- media
def upload_media(channel: str) -> dict[str, Any]:
    media_type = request.args.get("type", "")
    if media_type not in MEDIA_TYPES and not (channel == "work" and media_type == "file"):
        raise ApiError(40005 if channel == "work" else 40004)
    upload = request.files.get("media")
    if upload is None:
        raise ApiError(41005, "media data missing")
    data = upload.read()
    if not data:
        raise ApiError(41005, "media data missing")
    limit = MEDIA_TYPES.get(media_type, 20 << 20)
    if len(data) > limit:
        raise ApiError(40009 if media_type == "image" else 40006)
    content_type = upload.mimetype or "application/octet-stream"
    if media_type == "image" and not content_type.startswith("image/"):
        content_type = _sniff_image(data) or content_type
    info = get_state().media.put(
        channel, data, content_type, filename=upload.filename, media_type=media_type
    )
    return {"type": media_type, "media_id": info["media_id"], "created_at": info["created_at"]}


def _sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _attachment(filename: str) -> str:
    """A Content-Disposition for ``filename``, which may be Chinese (RFC 6266 / 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def get_media_response(channel: str) -> Response:
    media_id = request.args.get("media_id")
    if not media_id:
        raise ApiError(41006, "media_id missing")
    media = get_state().media.get(channel, media_id)
    if media is None:
        raise ApiError(40007)
    return Response(
        media["data"],
        content_type=media["content_type"],
        headers={"Content-disposition": _attachment(media["filename"])},
    )


@bp.post("/cgi-bin/media/upload")
@api_view("mp")
def media_upload() -> dict[str, Any]:
    return upload_media("mp")


@bp.get("/cgi-bin/media/get")
@api_view("mp")
def media_get() -> Response:
    return get_media_response("mp")


# ---------------------------------------------------------------------- menu
def validate_menu(data: dict[str, Any]) -> dict[str, Any]:
    buttons = data.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        if not isinstance(button, dict) or not button.get("name"):
            raise ApiError(40018 if isinstance(button, dict) else 47001)
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list) or len(subs) > 5:
                raise ApiError(40023)
            for sub in subs:
                if not isinstance(sub, dict) or not sub.get("name"):
                    raise ApiError(40025)
                if sub.get("type") not in MENU_TYPES:
                    raise ApiError(40024)
        elif button.get("type") not in MENU_TYPES:
            raise ApiError(40017)
    return {"button": buttons}


@bp.post("/cgi-bin/menu/create")
@api_view("mp")
def menu_create() -> dict[str, Any]:
    get_state().menus.set("mp", validate_menu(read_json()))
    return {"errcode": 0, "errmsg": "ok"}


@bp.get("/cgi-bin/menu/get")
@api_view("mp")
def menu_get() -> dict[str, Any]:
    menu = get_state().menus.get("mp")
    if menu is None:
        raise ApiError(46003, "menu no exist")
    return {"menu": menu}


@bp.get("/cgi-bin/menu/delete")
@api_view("mp")
def menu_delete() -> dict[str, Any]:
    get_state().menus.set("mp", None)
    return {"errcode": 0, "errmsg": "ok"}


# ---------------------------------------------------------------------- users
@bp.get("/cgi-bin/user/info")
@api_view("mp")
def user_info() -> dict[str, Any]:
    openid = request.args.get("openid")
    if not openid:
        raise ApiError(41009)
    state = get_state()
    user = state.followers.get(openid)
    if user is None:
        if get_config().strict_users:
            raise ApiError(40003)
        user = state.followers.add(openid)
    return user


# ---------------------------------------------------------------------- web OAuth (H5 pages)
@bp.get("/connect/oauth2/authorize")
def oauth_authorize() -> BaseResponse:
    """Stands in for open.weixin.qq.com's authorize page: redirects straight back with a
    code for the phone's current patient (cookie ``sim_mp_user``, or ``?sim_user=``)."""
    args = request.args
    if args.get("appid") != get_config().mp_appid or not args.get("redirect_uri"):
        return Response("appid 或 redirect_uri 参数错误", status=400, mimetype="text/plain")
    openid = args.get("sim_user") or request.cookies.get("sim_mp_user") or DEFAULT_PATIENT
    code = get_state().oauth.issue("mp", openid)
    target = args["redirect_uri"]
    sep = "&" if "?" in target else "?"
    return redirect(target + sep + urlencode({"code": code, "state": args.get("state", "")}))


@bp.get("/sns/oauth2/access_token")
@api_view("mp", auth=False)
def oauth_access_token() -> dict[str, Any]:
    args = request.args
    cfg = get_config()
    if args.get("appid") != cfg.mp_appid:
        raise ApiError(40013)
    if args.get("secret") != cfg.mp_secret:
        raise ApiError(40001)
    if not args.get("code"):
        raise ApiError(41008)
    openid = get_state().oauth.redeem("mp", args["code"])
    if openid is None:
        raise ApiError(40029)
    return {
        "access_token": "SIM_SNS_" + args["code"],
        "expires_in": 7200,
        "refresh_token": "SIM_SNS_REFRESH_" + args["code"],
        "openid": openid,
        "scope": "snsapi_base",
        "is_snapshotuser": 0,
    }
