"""The callbacks WeChat and WeChat Work send to the product, built exactly as they send them.

Plain functions, reusable by tests and benchmarks:

    xml = mp_text("o_sim_patient_1", "你好")
    resp = post_mp(config, xml)                # signed (and AES-encrypted) POST /wechat/mp
    cb = sign_mp(config, xml)                  # or just the query + body, e.g. for a
    client.post(cb.path, query_string=cb.query, data=cb.body)   # Flask test client

Builders return the plaintext XML of the message (fields and element names as WeChat's
documentation shows them: ``ToUserName``, ``FromUserName``, ``CreateTime``, ``MsgType``, …;
WeChat Work adds ``AgentID``). ``sign_*`` / ``post_*`` encrypt it with wechatpy's own crypto
(``wechatpy.crypto.WeChatCrypto`` / ``wechatpy.enterprise.crypto.WeChatCrypto``) and sign it.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import string
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import xmltodict

from .config import DEFAULT_MP_ORIGINAL_ID, DEV_DEFAULTS, SimConfig

DEFAULT_CORP_ID = DEV_DEFAULTS["WECOM_CORP_ID"]
DEFAULT_AGENT_ID = int(DEV_DEFAULTS["WECOM_AGENT_ID"])

_msg_ids = itertools.count(secrets.randbits(60) + (1 << 62))
_msg_lock = threading.Lock()


def new_msg_id() -> int:
    """A fresh 64-bit MsgId, unique within this process."""
    with _msg_lock:
        return next(_msg_ids)


# ---------------------------------------------------------------------- XML
def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list | tuple):
        return "".join(_element(name, item) for item in value)
    if isinstance(value, bool):
        return f"<{name}>{int(value)}</{name}>"
    if isinstance(value, int | float):
        return f"<{name}>{value}</{name}>"
    return f"<{name}>{_cdata(str(value))}</{name}>"


def build_xml(fields: Mapping[str, Any]) -> str:
    """``{"A": "x", "B": 1, "C": {"D": "y"}, "E": [{…}, {…}]}`` → WeChat-style XML
    (strings in CDATA, numbers bare, dicts nested, lists as repeated elements)."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def _now(create_time: int | None) -> int:
    return int(time.time()) if create_time is None else int(create_time)


# ---------------------------------------------------------------------- official account
def _mp(
    openid: str,
    msg_type: str,
    body: Mapping[str, Any],
    *,
    to: str | None,
    create_time: int | None,
    msg_id: int | None = None,
    with_msg_id: bool = True,
) -> str:
    fields: dict[str, Any] = {
        "ToUserName": to or DEFAULT_MP_ORIGINAL_ID,
        "FromUserName": openid,
        "CreateTime": _now(create_time),
        "MsgType": msg_type,
        **body,
    }
    if with_msg_id:
        fields["MsgId"] = msg_id or new_msg_id()
    return build_xml(fields)


def mp_text(
    openid: str,
    content: str,
    *,
    to: str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    return _mp(openid, "text", {"Content": content}, to=to, create_time=create_time, msg_id=msg_id)


def mp_image(
    openid: str,
    media_id: str,
    pic_url: str,
    *,
    to: str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    return _mp(
        openid,
        "image",
        {"PicUrl": pic_url, "MediaId": media_id},
        to=to,
        create_time=create_time,
        msg_id=msg_id,
    )


def mp_voice(
    openid: str,
    media_id: str,
    *,
    recognition: str | None = None,
    fmt: str = "amr",
    to: str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    body: dict[str, Any] = {"MediaId": media_id, "Format": fmt}
    if recognition is not None:
        body["Recognition"] = recognition
    return _mp(openid, "voice", body, to=to, create_time=create_time, msg_id=msg_id)


def mp_location(
    openid: str,
    lat: float,
    lon: float,
    *,
    scale: int = 15,
    label: str = "",
    to: str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    body = {"Location_X": float(lat), "Location_Y": float(lon), "Scale": int(scale), "Label": label}
    return _mp(openid, "location", body, to=to, create_time=create_time, msg_id=msg_id)


def mp_event(
    openid: str,
    event: str,
    key: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    to: str | None = None,
    create_time: int | None = None,
) -> str:
    """Any event; ``event`` as WeChat spells it (``subscribe``, ``CLICK``, ``VIEW``, ``SCAN``,
    ``scancode_waitmsg`` …). Events carry no MsgId (wechatpy then reports ``id == 0``)."""
    body: dict[str, Any] = {"Event": event}
    if key is not None:
        body["EventKey"] = key
    body.update(extra or {})
    return _mp(openid, "event", body, to=to, create_time=create_time, with_msg_id=False)


def mp_click(openid: str, key: str, **kw: Any) -> str:
    return mp_event(openid, "CLICK", key, **kw)


def mp_view(openid: str, url: str, menu_id: str | None = None, **kw: Any) -> str:
    return mp_event(openid, "VIEW", url, extra={"MenuId": menu_id} if menu_id else None, **kw)


def mp_subscribe(
    openid: str, scene: str | None = None, ticket: str | None = None, **kw: Any
) -> str:
    """Follow the account (optionally by scanning a parametric QR code: ``scene``)."""
    if scene is None:
        return mp_event(openid, "subscribe", **kw)
    return mp_event(
        openid, "subscribe", f"qrscene_{scene}", extra={"Ticket": ticket or "sim_ticket"}, **kw
    )


def mp_unsubscribe(openid: str, **kw: Any) -> str:
    return mp_event(openid, "unsubscribe", **kw)


def mp_scan(openid: str, scene: str, ticket: str | None = None, **kw: Any) -> str:
    """A follower scanned a parametric QR code (``SCAN`` event)."""
    return mp_event(openid, "SCAN", scene, extra={"Ticket": ticket or "sim_ticket"}, **kw)


def mp_menu_scan(
    openid: str,
    key: str,
    result: str,
    *,
    scan_type: str = "qrcode",
    event: str = "scancode_waitmsg",
) -> str:
    info = {"ScanCodeInfo": {"ScanType": scan_type, "ScanResult": result}}
    return mp_event(openid, event, key, extra=info)


def mp_subscribe_msg_popup(
    openid: str, templates: Iterable[tuple[str, str]], *, scene: int = 2, **kw: Any
) -> str:
    """``subscribe_msg_popup_event``: ``templates`` = [(template_id, "accept" | "reject")]."""
    items = [
        {"TemplateId": tid, "SubscribeStatusString": status, "PopupScene": scene}
        for tid, status in templates
    ]
    return mp_event(
        openid, "subscribe_msg_popup_event", extra={"SubscribeMsgPopupEvent": {"List": items}}, **kw
    )


# ---------------------------------------------------------------------- WeChat Work
def _work(
    userid: str,
    msg_type: str,
    body: Mapping[str, Any],
    *,
    corp_id: str | None,
    agent_id: int | str | None,
    create_time: int | None,
    msg_id: int | None = None,
    with_msg_id: bool = True,
) -> str:
    fields: dict[str, Any] = {
        "ToUserName": corp_id or DEFAULT_CORP_ID,
        "FromUserName": userid,
        "CreateTime": _now(create_time),
        "MsgType": msg_type,
        **body,
    }
    if with_msg_id:
        fields["MsgId"] = msg_id or new_msg_id()
    fields["AgentID"] = int(agent_id if agent_id is not None else DEFAULT_AGENT_ID)
    return build_xml(fields)


def work_text(
    userid: str,
    content: str,
    *,
    corp_id: str | None = None,
    agent_id: int | str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    return _work(
        userid,
        "text",
        {"Content": content},
        corp_id=corp_id,
        agent_id=agent_id,
        create_time=create_time,
        msg_id=msg_id,
    )


def work_image(
    userid: str,
    media_id: str,
    pic_url: str,
    *,
    corp_id: str | None = None,
    agent_id: int | str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    return _work(
        userid,
        "image",
        {"PicUrl": pic_url, "MediaId": media_id},
        corp_id=corp_id,
        agent_id=agent_id,
        create_time=create_time,
        msg_id=msg_id,
    )


def work_location(
    userid: str,
    lat: float,
    lon: float,
    *,
    scale: int = 15,
    label: str = "",
    corp_id: str | None = None,
    agent_id: int | str | None = None,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    body = {"Location_X": float(lat), "Location_Y": float(lon), "Scale": int(scale), "Label": label}
    return _work(
        userid,
        "location",
        body,
        corp_id=corp_id,
        agent_id=agent_id,
        create_time=create_time,
        msg_id=msg_id,
    )


def work_event(
    userid: str,
    event: str,
    key: str | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    corp_id: str | None = None,
    agent_id: int | str | None = None,
    create_time: int | None = None,
) -> str:
    """Any WeChat Work event (``click``, ``view``, ``enter_agent``, ``scancode_waitmsg`` …)."""
    body: dict[str, Any] = {"Event": event}
    if key is not None:
        body["EventKey"] = key
    body.update(extra or {})
    return _work(
        userid,
        "event",
        body,
        corp_id=corp_id,
        agent_id=agent_id,
        create_time=create_time,
        with_msg_id=False,
    )


def work_click(userid: str, key: str, **kw: Any) -> str:
    return work_event(userid, "click", key, **kw)


def work_view(userid: str, url: str, **kw: Any) -> str:
    return work_event(userid, "view", url, **kw)


def work_enter_agent(userid: str, **kw: Any) -> str:
    return work_event(userid, "enter_agent", "", **kw)


def work_scan(
    userid: str,
    key: str,
    result: str,
    *,
    scan_type: str = "qrcode",
    event: str = "scancode_waitmsg",
    **kw: Any,
) -> str:
    """A menu scan (``scancode_waitmsg`` by default; ``scancode_push`` also possible)."""
    info = {"ScanCodeInfo": {"ScanType": scan_type, "ScanResult": result}}
    return work_event(userid, event, key, extra=info, **kw)


def work_template_card_event(
    userid: str,
    task_id: str,
    key: str,
    response_code: str,
    *,
    card_type: str = "button_interaction",
    selected: Mapping[str, Iterable[str]] | None = None,
    **kw: Any,
) -> str:
    """A click on a template card (``template_card_event``); ``selected`` maps a
    question key to the chosen option ids (vote / multiple-choice cards)."""
    extra: dict[str, Any] = {
        "TaskId": task_id,
        "CardType": card_type,
        "ResponseCode": response_code,
    }
    if selected:
        extra["SelectedItems"] = {
            "SelectedItem": [
                {"QuestionKey": q, "OptionIds": {"OptionId": list(ids)}}
                for q, ids in selected.items()
            ]
        }
    return work_event(userid, "template_card_event", key, extra=extra, **kw)


# ---------------------------------------------------------------------- signing
@dataclass(frozen=True)
class SignedCallback:
    """A callback ready to send: ``POST {base}{path}?{query}`` with ``body``."""

    path: str
    query: dict[str, str]
    body: str

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{self.path}?{urlencode(self.query)}"


def nonce() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _encrypt(crypto: Any, xml: str, nonce_: str, timestamp: str) -> tuple[str, str]:
    envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce_, timestamp))["xml"]
    return envelope["Encrypt"], envelope["MsgSignature"]


def _field(xml: str, name: str) -> str:
    return str(xmltodict.parse(xml)["xml"].get(name) or "")


def sign_mp(
    config: SimConfig | None,
    xml: str,
    *,
    openid: str | None = None,
    timestamp: str | None = None,
    nonce_: str | None = None,
) -> SignedCallback:
    """The official account's POST to ``/wechat/mp``: in safe mode (``mp_aes_key`` set) the
    body is ``<xml><ToUserName/><Encrypt/></xml>`` and the query carries ``signature``,
    ``timestamp``, ``nonce``, ``openid``, ``encrypt_type=aes`` and ``msg_signature``; in
    plaintext mode the body is the XML and the query ``signature``/``timestamp``/``nonce``
    (plus ``openid``)."""
    from wechatpy.crypto import WeChatCrypto

    cfg = config or SimConfig()
    ts = timestamp or str(int(time.time()))
    nc = nonce_ or nonce()
    query = {
        "signature": sha1_signature(cfg.mp_token, ts, nc),
        "timestamp": ts,
        "nonce": nc,
        "openid": openid or _field(xml, "FromUserName"),
    }
    if not cfg.mp_aes_key:
        return SignedCallback("/wechat/mp", query, xml)
    crypto = WeChatCrypto(cfg.mp_token, cfg.mp_aes_key, cfg.mp_appid)
    encrypted, msg_signature = _encrypt(crypto, xml, nc, ts)
    query.update(encrypt_type="aes", msg_signature=msg_signature)
    body = build_xml({"ToUserName": _field(xml, "ToUserName"), "Encrypt": encrypted})
    return SignedCallback("/wechat/mp", query, body)


def sign_work(
    config: SimConfig | None,
    xml: str,
    *,
    timestamp: str | None = None,
    nonce_: str | None = None,
) -> SignedCallback:
    """WeChat Work's POST to ``/wechat/work``: always encrypted; body
    ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``, query ``msg_signature``/``timestamp``/
    ``nonce``."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    cfg = config or SimConfig()
    ts = timestamp or str(int(time.time()))
    nc = nonce_ or nonce()
    crypto = WeChatCrypto(cfg.work_token, cfg.work_aes_key, cfg.work_corp_id)
    encrypted, msg_signature = _encrypt(crypto, xml, nc, ts)
    body = build_xml(
        {
            "ToUserName": _field(xml, "ToUserName") or cfg.work_corp_id,
            "AgentID": _field(xml, "AgentID") or str(cfg.work_agent_id),
            "Encrypt": encrypted,
        }
    )
    query = {"msg_signature": msg_signature, "timestamp": ts, "nonce": nc}
    return SignedCallback("/wechat/work", query, body)


HEADERS = {"Content-Type": "text/xml; charset=utf-8", "User-Agent": "Mozilla/4.0"}


def _post(
    cfg: SimConfig, cb: SignedCallback, timeout: float | None, session: Any
) -> requests.Response:
    http = session or requests
    return http.post(
        cb.url(cfg.product_base_url),
        data=cb.body.encode("utf-8"),
        headers=HEADERS,
        timeout=timeout if timeout is not None else cfg.callback_timeout,
    )


def post_mp(
    config: SimConfig | None,
    xml: str,
    *,
    timeout: float | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    """Sign (and encrypt) ``xml`` and POST it to ``{PRODUCT_BASE_URL}/wechat/mp``."""
    cfg = config or SimConfig()
    return _post(cfg, sign_mp(cfg, xml), timeout, session)


def post_work(
    config: SimConfig | None,
    xml: str,
    *,
    timeout: float | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    """Encrypt and sign ``xml`` and POST it to ``{PRODUCT_BASE_URL}/wechat/work``."""
    cfg = config or SimConfig()
    return _post(cfg, sign_work(cfg, xml), timeout, session)


# ---------------------------------------------------------------------- URL verification
def mp_verify_query(config: SimConfig | None, echostr: str | None = None) -> dict[str, str]:
    """The GET WeChat sends when the callback URL is saved (always plaintext ``echostr``)."""
    cfg = config or SimConfig()
    ts, nc = str(int(time.time())), nonce()
    return {
        "signature": sha1_signature(cfg.mp_token, ts, nc),
        "timestamp": ts,
        "nonce": nc,
        "echostr": echostr or secrets.token_hex(8),
    }


def work_verify_query(config: SimConfig | None, echostr: str | None = None) -> dict[str, str]:
    """WeChat Work's URL verification GET: ``echostr`` encrypted; the product must answer
    with the decrypted plaintext (returned here as ``_plain``, not part of the query)."""
    from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

    cfg = config or SimConfig()
    plain = echostr or secrets.token_hex(8)
    crypto = WeChatCrypto(cfg.work_token, cfg.work_aes_key, cfg.work_corp_id)
    encrypted = PrpCrypto(crypto.key).encrypt(plain, cfg.work_corp_id)
    encrypted = encrypted.decode() if isinstance(encrypted, bytes) else str(encrypted)
    ts, nc = str(int(time.time())), nonce()
    return {
        "msg_signature": sha1_signature(cfg.work_token, ts, nc, encrypted),
        "timestamp": ts,
        "nonce": nc,
        "echostr": encrypted,
        "_plain": plain,
    }


# ---------------------------------------------------------------------- passive replies
def read_mp_reply(config: SimConfig | None, body: str | bytes) -> str | None:
    """The plaintext of the product's answer to an MP callback, or None for ``success`` /
    empty. Raises wechatpy's ``InvalidSignatureException`` if an encrypted reply is badly
    signed."""
    from wechatpy.crypto import WeChatCrypto

    cfg = config or SimConfig()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text.strip() or text.strip() == "success":
        return None
    data = xmltodict.parse(text)["xml"]
    if "Encrypt" not in data:
        return text
    crypto = WeChatCrypto(cfg.mp_token, cfg.mp_aes_key, cfg.mp_appid)
    return str(
        crypto.decrypt_message(text, data.get("MsgSignature"), data.get("TimeStamp"), data["Nonce"])
    )


def read_work_reply(config: SimConfig | None, body: str | bytes) -> str | None:
    """Like :func:`read_mp_reply` for WeChat Work (replies there are always encrypted)."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    cfg = config or SimConfig()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text.strip() or text.strip() == "success":
        return None
    data = xmltodict.parse(text)["xml"]
    if "Encrypt" not in data:
        return text
    crypto = WeChatCrypto(cfg.work_token, cfg.work_aes_key, cfg.work_corp_id)
    return str(
        crypto.decrypt_message(text, data.get("MsgSignature"), data.get("TimeStamp"), data["Nonce"])
    )


def reply_to_message(xml: str) -> tuple[str, dict[str, Any]] | None:
    """A passive reply's XML → (msgtype, payload) in the shape of the send APIs, so the phone
    shows it like any other bot message. None for ``transfer_customer_service``."""
    data = xmltodict.parse(xml)["xml"]
    msg_type = str(data.get("MsgType") or "").lower()
    if msg_type == "text":
        return "text", {"content": data.get("Content") or ""}
    if msg_type in ("image", "voice"):
        node = data.get(msg_type.capitalize()) or {}
        return msg_type, {"media_id": node.get("MediaId")}
    if msg_type == "video":
        node = data.get("Video") or {}
        return "video", {
            "media_id": node.get("MediaId"),
            "title": node.get("Title"),
            "description": node.get("Description"),
        }
    if msg_type == "news":
        items = (data.get("Articles") or {}).get("item") or []
        if isinstance(items, dict):
            items = [items]
        return "news", {
            "articles": [
                {
                    "title": i.get("Title"),
                    "description": i.get("Description"),
                    "picurl": i.get("PicUrl"),
                    "url": i.get("Url"),
                }
                for i in items
            ]
        }
    if msg_type == "update_button":
        return "update_button", {"replace_name": (data.get("Button") or {}).get("ReplaceName")}
    if msg_type == "update_template_card":
        return "update_template_card", {"raw": data}
    if msg_type == "transfer_customer_service":
        return None
    return msg_type or "unknown", {"raw": data}
