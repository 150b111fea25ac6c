"""``/_sim/*``: inspect the simulator and steer it from tests (faults, clock, windows …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, request

from .api import get_state, json_response

bp = Blueprint("sim_control", __name__, url_prefix="/_sim")


def _body() -> dict[str, Any]:
    data = request.get_json(force=True, silent=True)
    return data if isinstance(data, dict) else {}


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


@bp.get("/")
def index() -> Response:
    return json_response(
        {
            "phone": "/phone",
            "mp_api": "/mp/cgi-bin/…",
            "work_api": "/work/cgi-bin/…",
            "control": [
                "POST /_sim/faults",
                "GET /_sim/faults",
                "DELETE /_sim/faults",
                "POST /_sim/expire-tokens",
                "POST /_sim/clock",
                "GET /_sim/calls?channel=mp|work&path=…",
                "GET /_sim/messages?channel=mp|work&user=… | channel=appchat&chat=…",
                "POST /_sim/messages",
                "POST /_sim/user-message",
                "POST /_sim/subscriptions",
                "GET /_sim/callbacks",
                "GET /_sim/dropped",
                "GET /_sim/media/<media_id>",
                "GET /_sim/chats?user=…",
                "POST /_sim/chats",
                "GET /_sim/chats/<chatid>",
                "GET /_sim/appchat-calls",
                "GET|POST /_sim/config",
                "POST /_sim/phone/media (form: channel, user, kind=image|voice|video, file)",
                "POST /_sim/reset",
            ],
        }
    )


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    state = get_state()
    if request.method == "DELETE":
        state.faults.clear()
        return json_response({"ok": True})
    if request.method == "GET":
        return json_response({"faults": state.faults.all()})
    data = _body()
    if not data.get("path"):
        return json_response({"ok": False, "error": "path is required"}, 400)
    try:
        fault = state.faults.add(
            str(data["path"]),
            None if data.get("errcode") is None else int(data["errcode"]),
            errmsg=data.get("errmsg"),
            http_status=None if data.get("http_status") is None else int(data["http_status"]),
            times=int(data.get("times", 1)),
            delay=float(data.get("delay", 0)),
        )
    except ValueError as exc:
        return json_response({"ok": False, "error": str(exc)}, 400)
    return json_response({"ok": True, "fault": fault})


@bp.post("/expire-tokens")
def expire_tokens() -> Response:
    return json_response({"ok": True, "expired": get_state().tokens.expire_all()})


@bp.post("/clock")
def clock() -> Response:
    """``{"advance": seconds}`` moves the simulator's time forward."""
    state = get_state()
    advance = float(_body().get("advance", 0))
    return json_response(
        {"ok": True, "now": state.core.advance(advance) if advance else state.core.now()}
    )


@bp.post("/reset")
def reset() -> Response:
    get_state().reset()
    return json_response({"ok": True})


@bp.get("/calls")
def calls() -> Response:
    a = request.args
    return json_response(
        {"calls": get_state().api_calls.find(a.get("channel"), a.get("path"), a.get("method"))}
    )


@bp.get("/callbacks")
def callbacks() -> Response:
    return json_response({"callbacks": get_state().callbacks.find(request.args.get("channel"))})


@bp.get("/dropped")
def dropped() -> Response:
    return json_response({"dropped": get_state().work_sends.dropped()})


def _conversation_key() -> tuple[str, str]:
    channel = request.args.get("channel") or ""
    who = request.args.get("chat" if channel == "appchat" else "user") or ""
    if channel not in ("mp", "work", "appchat") or not who:
        abort(json_response({"error": "channel=mp|work&user=… or channel=appchat&chat=…"}, 400))
    return channel, who


@bp.get("/messages")
def messages() -> Response:
    channel, who = _conversation_key()
    state = get_state()
    return json_response(
        {
            "channel": channel,
            "messages": state.conversations.messages(
                channel,
                who,
                include_user=_flag("include_user"),
                since=int(request.args.get("since") or 0),
            ),
            "seq": state.core.latest_seq(),
        }
    )


@bp.post("/messages")
def inject_message() -> Response:
    """Put a bot message into a conversation directly:
    ``{"channel": "mp", "user": "o…", "msgtype": "text", "text": {"content": "…"}}``."""
    data = _body()
    channel, msgtype = data.get("channel"), data.get("msgtype")
    who = data.get("chat") if channel == "appchat" else data.get("user")
    if channel not in ("mp", "work", "appchat") or not who or not msgtype:
        return json_response({"ok": False, "error": "channel, user/chat and msgtype needed"}, 400)
    payload = data.get(msgtype, {})
    entry = get_state().conversations.deliver(
        channel, str(who), str(msgtype), payload, source="injected"
    )
    return json_response({"ok": True, "message": entry})


@bp.post("/user-message")
def user_message() -> Response:
    """``{"openid": "o…", "kind": "message" | "event"}``: opens the customer-service window."""
    data = _body()
    openid = data.get("openid") or data.get("user")
    if not openid:
        return json_response({"ok": False, "error": "openid is required"}, 400)
    state = get_state()
    state.windows.user_message(str(openid), str(data.get("kind") or "message"))
    return json_response({"ok": True, "window": state.windows.of(str(openid))})


@bp.route("/subscriptions", methods=["POST", "DELETE"])
def subscriptions() -> Response:
    """``{"openid": "o…", "template_id": "…" (optional: every template)}``."""
    data = _body()
    openid = data.get("openid")
    if not openid:
        return json_response({"ok": False, "error": "openid is required"}, 400)
    state = get_state()
    if request.method == "DELETE":
        state.subscriptions.reject(str(openid), data.get("template_id"))
    else:
        state.subscriptions.accept(str(openid), data.get("template_id"))
    return json_response({"ok": True})


@bp.get("/media/<media_id>")
def media(media_id: str) -> Response:
    """A media's bytes without a token: the ``PicUrl`` of image callbacks and the phone's
    thumbnails."""
    found = get_state().media.get(None, media_id)
    if found is None:
        abort(404)
    return Response(found["data"], content_type=found["content_type"])


@bp.get("/menu")
def menu() -> Response:
    from .phone_menus import menu_for

    channel = request.args.get("channel", "mp")
    return json_response(menu_for(channel))


@bp.get("/chats")
def chats() -> Response:
    """The group chats of ``?user=`` (every chat without it)."""
    state, user = get_state(), request.args.get("user")
    return json_response({"chats": state.chats.of_user(user) if user else state.chats.all()})


@bp.post("/chats")
def add_chat() -> Response:
    """Make a group chat directly, e.g. one another app created (``agentid``), which this
    app may neither update nor send to: ``{"chatid", "name", "owner", "userlist", "agentid"}``."""
    data = _body()
    userlist = [str(u) for u in data.get("userlist") or []]
    chatid = str(data.get("chatid") or "")
    if not chatid or len(userlist) < 2:
        return json_response({"ok": False, "error": "chatid and 2+ userlist needed"}, 400)
    chat = get_state().chats.create(
        chatid,
        str(data.get("name") or ""),
        str(data.get("owner") or userlist[0]),
        userlist,
        agentid=str(data.get("agentid") or get_state().config.work_agent_id),
    )
    return json_response({"ok": True, "chat": chat})


@bp.get("/chats/<chatid>")
def chat_detail(chatid: str) -> Response:
    """One group chat: name, owner, members, creating app, and what was said in it, in
    order (the app's messages and the members')."""
    state = get_state()
    chat = state.chats.get(chatid)
    if chat is None:
        return json_response({"ok": False, "error": "no such chat"}, 404)
    messages = state.conversations.messages("appchat", chatid, include_user=True)
    return json_response({"ok": True, "chat": chat, "messages": messages})


@bp.get("/appchat-calls")
def appchat_calls() -> Response:
    """Every ``appchat/*`` call, oldest first: path, request body, errcode and errmsg."""
    calls = [
        {
            "seq": c["seq"],
            "api": c["api_path"].rsplit("/", 1)[-1],
            "path": c["api_path"],
            "params": {k: v for k, v in c["params"].items() if k != "access_token"},
            "body": c["body"],
            "errcode": (c["response"] or {}).get("errcode"),
            "errmsg": (c["response"] or {}).get("errmsg"),
        }
        for c in get_state().api_calls.find("work")
        if c["api_path"].startswith("/cgi-bin/appchat/")
    ]
    return json_response({"calls": calls})


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")


# What tests may change at run time (SimConfig fields) and how to read the value.
SETTABLE: dict[str, Callable[[Any], Any]] = {
    "work_app_visible_to_all": _bool,
    "appchat_daily_create_limit": int,
    "appchat_hourly_change_limit": int,
    "strict_users": _bool,
    "work_rate_limit": _bool,
}


@bp.route("/config", methods=["GET", "POST"])
def config() -> Response:
    """``POST {"work_app_visible_to_all": false, "appchat_daily_create_limit": 3}``: change
    the simulator's settings (those in :data:`SETTABLE`); GET shows them."""
    cfg = get_state().config
    if request.method == "POST":
        data = _body()
        unknown = sorted(set(data) - set(SETTABLE))
        if unknown:
            return json_response({"ok": False, "error": f"not settable: {unknown}"}, 400)
        for name, value in data.items():
            setattr(cfg, name, SETTABLE[name](value))
    return json_response({"ok": True, "config": {k: getattr(cfg, k) for k in SETTABLE}})


@bp.get("/window")
def window() -> Response:
    return json_response({"window": get_state().windows.of(request.args.get("openid", ""))})
