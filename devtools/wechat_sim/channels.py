"""The machinery behind :mod:`.callbacks`: WeChat-style XML, MsgIds, signatures, and one
:class:`Channel` per platform (:data:`MP`, :data:`WORK`) that builds, signs, posts and reads
the callbacks the same way for both, parameterised by what differs (address, crypto, signed
request). Encryption is wechatpy's own (``wechatpy.crypto`` / ``wechatpy.enterprise.crypto``).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
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


def stamp(timestamp: str | None = None, nonce_: str | None = None) -> tuple[str, str]:
    return timestamp or str(int(time.time())), nonce_ or nonce()


HEADERS = {"Content-Type": "text/xml; charset=utf-8", "User-Agent": "Mozilla/4.0"}


# ---------------------------------------------------------------------- the two channels
def _mp_address(to: str | None = None) -> tuple[str, dict[str, Any]]:
    return to or DEFAULT_MP_ORIGINAL_ID, {}


def _work_address(
    corp_id: str | None = None, agent_id: int | str | None = None
) -> tuple[str, dict[str, Any]]:
    agent = int(agent_id if agent_id is not None else DEFAULT_AGENT_ID)
    return corp_id or DEFAULT_CORP_ID, {"AgentID": agent}


def mp_crypto(cfg: SimConfig) -> Any:
    from wechatpy.crypto import WeChatCrypto

    return WeChatCrypto(cfg.mp_token, cfg.mp_aes_key, cfg.mp_appid)


def work_crypto(cfg: SimConfig) -> Any:
    from wechatpy.enterprise.crypto import WeChatCrypto

    return WeChatCrypto(cfg.work_token, cfg.work_aes_key, cfg.work_corp_id)


def _mp_signed(
    cfg: SimConfig, xml: str, ts: str, nc: str, *, openid: str | None = None
) -> tuple[dict[str, str], str]:
    """In safe mode (``mp_aes_key`` set) the body is ``<xml><ToUserName/><Encrypt/></xml>``
    and the query carries ``signature``, ``timestamp``, ``nonce``, ``openid``,
    ``encrypt_type=aes`` and ``msg_signature``; in plaintext mode the body is the XML and the
    query ``signature``/``timestamp``/``nonce`` (plus ``openid``)."""
    query = {
        "signature": sha1_signature(cfg.mp_token, ts, nc),
        "timestamp": ts,
        "nonce": nc,
        "openid": openid or _field(xml, "FromUserName"),
    }
    if not cfg.mp_aes_key:
        return query, xml
    encrypted, msg_signature = _encrypt(mp_crypto(cfg), xml, nc, ts)
    query.update(encrypt_type="aes", msg_signature=msg_signature)
    return query, build_xml({"ToUserName": _field(xml, "ToUserName"), "Encrypt": encrypted})


def _work_signed(cfg: SimConfig, xml: str, ts: str, nc: str) -> tuple[dict[str, str], str]:
    """Always encrypted: body ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``, query
    ``msg_signature``/``timestamp``/``nonce``."""
    encrypted, msg_signature = _encrypt(work_crypto(cfg), xml, nc, ts)
    body = build_xml(
        {
            "ToUserName": _field(xml, "ToUserName") or cfg.work_corp_id,
            "AgentID": _field(xml, "AgentID") or str(cfg.work_agent_id),
            "Encrypt": encrypted,
        }
    )
    return {"msg_signature": msg_signature, "timestamp": ts, "nonce": nc}, body


@dataclass(frozen=True)
class Channel:
    """One channel's callbacks: the official account (:data:`MP`) or WeChat Work
    (:data:`WORK`). Both build the same messages and events, sign, post and read replies the
    same way; they differ in the address (``to`` vs ``corp_id`` / ``agent_id``, which adds
    ``AgentID`` after the fields), the crypto and the signed request."""

    path: str  # where the product listens
    address: Callable[..., tuple[str, dict[str, Any]]]  # → ToUserName, closing fields
    crypto: Callable[[SimConfig], Any]  # wechatpy's WeChatCrypto of the channel
    signed: Callable[..., tuple[dict[str, str], str]]  # (cfg, xml, ts, nonce) → query, body

    # ------------------------------------------------------------------ builders
    def message(
        self,
        sender: str,
        msg_type: str,
        body: Mapping[str, Any],
        *,
        create_time: int | None = None,
        msg_id: int | None = None,
        with_msg_id: bool = True,
        **address: Any,
    ) -> str:
        """``address``: ``to`` (official account) or ``corp_id`` / ``agent_id`` (WeChat Work)."""
        to, closing = self.address(**address)
        fields: dict[str, Any] = {
            "ToUserName": to,
            "FromUserName": sender,
            "CreateTime": _now(create_time),
            "MsgType": msg_type,
            **body,
        }
        if with_msg_id:
            fields["MsgId"] = msg_id or new_msg_id()
        return build_xml(fields | closing)

    def text(self, sender: str, content: str, **kw: Any) -> str:
        return self.message(sender, "text", {"Content": content}, **kw)

    def image(self, sender: str, media_id: str, pic_url: str, **kw: Any) -> str:
        return self.message(sender, "image", {"PicUrl": pic_url, "MediaId": media_id}, **kw)

    def location(
        self, sender: str, lat: float, lon: float, *, scale: int = 15, label: str = "", **kw: Any
    ) -> str:
        body = {
            "Location_X": float(lat),
            "Location_Y": float(lon),
            "Scale": int(scale),
            "Label": label,
        }
        return self.message(sender, "location", body, **kw)

    def event(
        self,
        sender: str,
        event: str,
        key: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> str:
        """Any event; ``event`` as the platform spells it (official account: ``subscribe``,
        ``CLICK``, ``VIEW``, ``SCAN``, ``scancode_waitmsg`` …; WeChat Work: ``click``,
        ``view``, ``enter_agent``, ``scancode_waitmsg`` …). Events carry no MsgId (wechatpy
        then reports ``id == 0``)."""
        body: dict[str, Any] = {"Event": event}
        if key is not None:
            body["EventKey"] = key
        body.update(extra or {})
        return self.message(sender, "event", body, with_msg_id=False, **kw)

    def scan(
        self,
        sender: str,
        key: str,
        result: str,
        *,
        scan_type: str = "qrcode",
        event: str = "scancode_waitmsg",
        **kw: Any,
    ) -> str:
        """A menu scan (``scancode_waitmsg`` by default; ``scancode_push`` also possible)."""
        info = {"ScanCodeInfo": {"ScanType": scan_type, "ScanResult": result}}
        return self.event(sender, event, key, extra=info, **kw)

    # ------------------------------------------------------------------ transport
    def sign(
        self,
        config: SimConfig | None,
        xml: str,
        *,
        timestamp: str | None = None,
        nonce_: str | None = None,
        **kw: Any,
    ) -> SignedCallback:
        """The channel's POST of ``xml`` to :attr:`path`, signed (and encrypted); ``kw``: the
        official account's ``openid`` (default: the message's ``FromUserName``)."""
        ts, nc = stamp(timestamp, nonce_)
        query, body = self.signed(config or SimConfig(), xml, ts, nc, **kw)
        return SignedCallback(self.path, query, body)

    def post(
        self,
        config: SimConfig | None,
        xml: str,
        *,
        timeout: float | None = None,
        session: requests.Session | None = None,
    ) -> requests.Response:
        """Sign (and encrypt) ``xml`` and POST it to ``{PRODUCT_BASE_URL}`` + :attr:`path`."""
        cfg = config or SimConfig()
        cb = self.sign(cfg, xml)
        http: Any = session or requests
        return http.post(
            cb.url(cfg.product_base_url),
            data=cb.body.encode("utf-8"),
            headers=HEADERS,
            timeout=timeout if timeout is not None else cfg.callback_timeout,
        )

    def read_reply(self, config: SimConfig | None, body: str | bytes) -> str | None:
        """The plaintext of the product's answer to a callback, or None for ``success`` /
        empty. Raises wechatpy's ``InvalidSignatureException`` if an encrypted reply is badly
        signed (WeChat Work's replies are always encrypted)."""
        cfg = config or SimConfig()
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not text.strip() or text.strip() == "success":
            return None
        data = xmltodict.parse(text)["xml"]
        if "Encrypt" not in data:
            return text
        return str(
            self.crypto(cfg).decrypt_message(
                text, data.get("MsgSignature"), data.get("TimeStamp"), data["Nonce"]
            )
        )


MP = Channel("/wechat/mp", _mp_address, mp_crypto, _mp_signed)
WORK = Channel("/wechat/work", _work_address, work_crypto, _work_signed)
