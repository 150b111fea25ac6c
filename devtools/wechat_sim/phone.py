"""The "phone": a page where a developer chats as a patient (公众号) or a clinician (企业微信).

Every action on the page is posted here; the simulator turns it into the real callback XML,
encrypts and signs it (the browser never sees a key), posts it to the product, and records
the outcome. What the bot sends comes back through the fake APIs and the page polls
``/_sim/messages``.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from . import callbacks as cb
from .api import get_state, json_response
from .qr_decode import _decode_with_opencv, _decode_with_pyzbar
from .state import SimState
from .stores import DEFAULT_CLINICIAN, DEFAULT_PATIENT

bp = Blueprint("sim_phone", __name__)

MP_ACCOUNT_NAME = "静脉通路管理"
WORK_APP_NAME = "静脉通路助手"


@bp.get("/")
def root() -> BaseResponse:
    return redirect("/phone")


@bp.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204)


@bp.get("/phone")
def phone() -> str:
    cfg = get_state().config
    return render_template(
        "phone.html",
        boot={
            "mp_account": MP_ACCOUNT_NAME,
            "work_app": WORK_APP_NAME,
            "default_patient": DEFAULT_PATIENT,
            "default_clinician": DEFAULT_CLINICIAN,
            "product": cfg.product_base_url,
            "mp_mode": "安全模式" if cfg.mp_encrypted else "明文模式",
        },
    )


# ---------------------------------------------------------------------- callbacks
def _short(text: str, limit: int = 160) -> str:
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit] + "…"


def send_callback(state: SimState, channel: str, user: str, xml: str) -> dict[str, Any]:
    """Post ``xml`` to the product as WeChat would; record the attempt; show failures and
    passive replies in the chat. Never raises for network trouble."""
    cfg = state.config
    signed = cb.sign_mp(cfg, xml) if channel == "mp" else cb.sign_work(cfg, xml)
    url = signed.url(cfg.product_base_url)
    result: dict[str, Any] = {"ok": False, "status": None, "error": None, "reply": None}
    try:
        resp = requests.post(
            url,
            data=signed.body.encode("utf-8"),
            headers=cb.HEADERS,
            timeout=cfg.callback_timeout,
        )
    except requests.Timeout:
        result["error"] = (
            f"回调失败：产品 {cfg.callback_timeout:g} 秒内未应答（{url.split('?')[0]}）"
        )
    except requests.ConnectionError:
        result["error"] = f"回调失败：无法连接 {url.split('?')[0]}（产品未启动？）"
    except requests.RequestException as exc:
        result["error"] = f"回调失败：{exc}"
    else:
        result["status"] = resp.status_code
        if resp.status_code != 200:
            detail = _short(resp.text)
            result["error"] = f"回调失败：HTTP {resp.status_code} {resp.reason or ''}".strip() + (
                f"：{detail}" if detail else ""
            )
        else:
            result["ok"] = True
            _passive_reply(state, channel, user, resp.content, result)
    state.callbacks.record(
        {
            "channel": channel,
            "user": user,
            "url": url,
            "xml": xml,
            "status": result["status"],
            "ok": result["ok"],
            "error": result["error"],
        }
    )
    if result["error"]:
        state.conversations.log_system(channel, user, result["error"])
    return result


def _passive_reply(
    state: SimState, channel: str, user: str, body: bytes, result: dict[str, Any]
) -> None:
    cfg = state.config
    try:
        plain = cb.read_mp_reply(cfg, body) if channel == "mp" else cb.read_work_reply(cfg, body)
        if plain is None:
            return
        parsed = cb.reply_to_message(plain)
    except Exception as exc:  # a malformed reply is the product's bug: show it
        result["error"] = f"被动回复无法解析：{type(exc).__name__}: {_short(str(exc))}"
        return
    if parsed is None:
        return
    msgtype, payload = parsed
    result["reply"] = {"msgtype": msgtype, "payload": payload}
    if msgtype == "update_button":
        return  # applied by the card-click handler
    extra = {}
    if msgtype in ("image", "voice", "video") and payload.get("media_id"):
        extra["media_url"] = f"/_sim/media/{payload['media_id']}"
    state.conversations.deliver(channel, user, msgtype, payload, source="passive", **extra)


# ---------------------------------------------------------------------- actions
def _event_label(kind: str, data: dict[str, Any]) -> str:
    name = data.get("name") or data.get("key") or ""
    if kind == "click":
        return f"点击菜单「{name}」"
    if kind == "view":
        return f"打开菜单链接「{name}」"
    if kind == "scan":
        return f"扫码：{data.get('result', '')}"
    if kind == "card":
        return f"点击卡片按钮「{data.get('name') or data.get('key')}」"
    if kind == "subscribe":
        return "关注公众号"
    if kind == "subscribe_msg":
        verb = "接受" if data.get("status", "accept") == "accept" else "拒绝"
        return f"{verb}订阅通知 {data.get('template_id', '')}"
    if kind == "enter_agent":
        return "进入应用"
    return kind


@bp.post("/_sim/phone/send")
def phone_send() -> Response:
    data = request.get_json(force=True, silent=True) or {}
    channel = data.get("channel")
    user = str(data.get("user") or "").strip()
    kind = data.get("kind")
    if channel not in ("mp", "work") or not user or not kind:
        return json_response({"ok": False, "error": "channel、user、kind 必填"}, 400)
    state = get_state()
    cfg = state.config
    if channel == "mp":
        state.followers.add(user)
    elif state.directory.user(user) is None:
        state.directory.add_user(user)

    xml: str | Response
    if kind == "text":
        text = str(data.get("text") or "")
        if not text.strip():
            return json_response({"ok": False, "error": "消息不能为空"}, 400)
        state.conversations.log_user(channel, user, "text", {"content": text})
        if channel == "mp":
            state.windows.user_message(user, "message")
            xml = cb.mp_text(user, text, to=cfg.mp_original_id)
        else:
            xml = cb.work_text(user, text, corp_id=cfg.work_corp_id, agent_id=cfg.work_agent_id)
    elif kind == "location":
        try:
            lat, lon = float(data["lat"]), float(data["lon"])
        except (KeyError, TypeError, ValueError):
            return json_response({"ok": False, "error": "请填写正确的纬度和经度"}, 400)
        label = str(data.get("label") or "")
        scale = int(data.get("scale") or 15)
        state.conversations.log_user(
            channel, user, "location", {"lat": lat, "lon": lon, "label": label}
        )
        if channel == "mp":
            state.windows.user_message(user, "message")
            xml = cb.mp_location(user, lat, lon, scale=scale, label=label, to=cfg.mp_original_id)
        else:
            xml = cb.work_location(
                user,
                lat,
                lon,
                scale=scale,
                label=label,
                corp_id=cfg.work_corp_id,
                agent_id=cfg.work_agent_id,
            )
    elif kind in ("click", "view", "scan", "subscribe", "subscribe_msg", "enter_agent", "card"):
        xml = _event_xml(state, channel, user, kind, data)
        if isinstance(xml, Response):
            return xml
        state.conversations.log_user(
            channel, user, "event", {"kind": kind, "label": _event_label(kind, data)}
        )
    else:
        return json_response({"ok": False, "error": f"未知操作 {kind}"}, 400)

    assert isinstance(xml, str)
    result = send_callback(state, channel, user, xml)
    if kind == "card" and result.get("reply") and result["reply"]["msgtype"] == "update_button":
        entry_id = data.get("entry_id")
        if entry_id:
            state.conversations.update(int(entry_id), card_update=result["reply"]["payload"])
    return json_response(result)


def _event_xml(
    state: SimState, channel: str, user: str, kind: str, data: dict[str, Any]
) -> str | Response:
    cfg = state.config
    work_kw = {"corp_id": cfg.work_corp_id, "agent_id": cfg.work_agent_id}
    key = str(data.get("key") or "")
    if kind == "click":
        if channel == "mp":
            state.windows.user_message(user, "event")
            return cb.mp_click(user, key, to=cfg.mp_original_id)
        return cb.work_click(user, key, **work_kw)
    if kind == "view":
        url = str(data.get("url") or "")
        if channel == "mp":
            return cb.mp_view(user, url, to=cfg.mp_original_id)
        return cb.work_view(user, url, **work_kw)
    if kind == "scan":
        result = str(data.get("result") or "").strip()
        if not result:
            return json_response({"ok": False, "error": "请填写二维码内容"}, 400)
        event = data.get("event") or "scancode_waitmsg"
        scan_type = data.get("scan_type") or "qrcode"
        if channel == "mp":
            state.windows.user_message(user, "event")
            return cb.mp_menu_scan(user, key, result, scan_type=scan_type, event=event)
        return cb.work_scan(user, key, result, scan_type=scan_type, event=event, **work_kw)
    if kind == "subscribe" and channel == "mp":
        state.windows.user_message(user, "event")
        return cb.mp_subscribe(user, data.get("scene") or None, to=cfg.mp_original_id)
    if kind == "subscribe_msg" and channel == "mp":
        template_id = str(data.get("template_id") or "").strip()
        if not template_id:
            return json_response({"ok": False, "error": "请填写模板 ID"}, 400)
        status = "reject" if data.get("status") == "reject" else "accept"
        if status == "accept":
            state.subscriptions.accept(user, template_id)
        else:
            state.subscriptions.reject(user, template_id)
        return cb.mp_subscribe_msg_popup(user, [(template_id, status)], to=cfg.mp_original_id)
    if kind == "enter_agent" and channel == "work":
        return cb.work_enter_agent(user, **work_kw)
    if kind == "card" and channel == "work":
        task_id = str(data.get("task_id") or "")
        if not task_id:
            return json_response({"ok": False, "error": "卡片缺少 task_id"}, 400)
        code = state.cards.issue_code(task_id, user)
        selected = data.get("selected") or None
        return cb.work_template_card_event(
            user,
            task_id,
            key,
            code,
            card_type=str(data.get("card_type") or "button_interaction"),
            selected=selected,
            **work_kw,
        )
    return json_response({"ok": False, "error": f"{channel} 不支持 {kind}"}, 400)


@bp.post("/_sim/phone/photo")
@bp.post("/_sim/phone/media")
def phone_media() -> Response:
    """A photo, voice note (AMR) or video (MP4) from the phone (form: ``channel``, ``user``,
    ``kind`` = image | voice | video, ``file``, optional ``format`` = amr | speex and
    ``thumb``): stored as media of the channel, then the image / voice / video callback."""
    from .inbound_media import MediaRejected, send_media

    channel = request.form.get("channel")
    user = (request.form.get("user") or "").strip()
    upload = request.files.get("file")
    if channel not in ("mp", "work") or not user or upload is None:
        return json_response({"ok": False, "error": "channel、user、file 必填"}, 400)
    thumb = request.files.get("thumb")
    try:
        result = send_media(
            get_state(),
            channel,
            user,
            request.form.get("kind") or "image",
            upload.read(),
            filename=upload.filename,
            content_type=upload.mimetype or "",
            fmt=(request.form.get("format") or "amr").lower(),
            thumb=thumb.read() if thumb is not None else None,
            host_url=request.host_url,
        )
    except MediaRejected as exc:
        return json_response({"ok": False, "error": str(exc)}, 400)
    return json_response(result)


@bp.post("/_sim/phone/chat")
def phone_chat() -> Response:
    """A member talks in a group chat. WeChat Work does not forward group messages to the
    app, so this only shows up in the chat (no callback)."""
    data = request.get_json(force=True, silent=True) or {}
    chatid, user, text = data.get("chat"), data.get("user"), str(data.get("text") or "")
    state = get_state()
    chat = state.chats.get(str(chatid or ""))
    if chat is None or not user or not text.strip():
        return json_response({"ok": False, "error": "群聊、成员和内容必填"}, 400)
    if user not in chat["userlist"]:
        return json_response({"ok": False, "error": "你不在该群聊中"}, 403)
    entry = state.conversations.log_user(
        "appchat", chat["chatid"], "text", {"content": text}, sender=user
    )
    return json_response({"ok": True, "message": entry})


@bp.post("/_sim/decode-qr")
def decode_qr() -> Response:
    """Find the text of a QR code in an uploaded image, with pyzbar (or OpenCV) if the
    simulator's environment has one; otherwise ask the person to paste the text."""
    upload = request.files.get("file")
    if upload is None:
        return json_response({"ok": False, "error": "请选择图片"}, 400)
    data = upload.read()
    texts = _decode_with_pyzbar(data)
    if texts is None:
        texts = _decode_with_opencv(data)
    if texts is None:
        return json_response(
            {
                "ok": False,
                "error": (
                    "模拟器环境没有二维码识别库（pyzbar/zbar 或 OpenCV），请直接粘贴二维码内容。"
                ),
            }
        )
    if not texts:
        return json_response({"ok": False, "error": "图片中没有识别到二维码，请粘贴二维码内容。"})
    return json_response({"ok": True, "text": texts[0], "all": texts})
