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

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import xmltodict

from .channels import HEADERS as HEADERS
from .channels import MP, WORK, sha1_signature, stamp, work_crypto
from .channels import SignedCallback as SignedCallback
from .channels import build_xml as build_xml
from .channels import new_msg_id as new_msg_id
from .config import SimConfig

# ---------------------------------------------------------------------- official account
mp_text = MP.text
mp_image = MP.image
mp_location = MP.location
mp_event = MP.event
mp_menu_scan = MP.scan


def mp_voice(
    openid: str, media_id: str, *, recognition: str | None = None, fmt: str = "amr", **kw: Any
) -> str:
    body: dict[str, Any] = {"MediaId": media_id, "Format": fmt}
    if recognition is not None:
        body["Recognition"] = recognition
    return MP.message(openid, "voice", body, **kw)


def mp_click(openid: str, key: str, **kw: Any) -> str:
    return MP.event(openid, "CLICK", key, **kw)


def mp_view(openid: str, url: str, menu_id: str | None = None, **kw: Any) -> str:
    return MP.event(openid, "VIEW", url, extra={"MenuId": menu_id} if menu_id else None, **kw)


def mp_subscribe(
    openid: str, scene: str | None = None, ticket: str | None = None, **kw: Any
) -> str:
    """Follow the account (optionally by scanning a parametric QR code: ``scene``)."""
    if scene is None:
        return MP.event(openid, "subscribe", **kw)
    return MP.event(
        openid, "subscribe", f"qrscene_{scene}", extra={"Ticket": ticket or "sim_ticket"}, **kw
    )


def mp_unsubscribe(openid: str, **kw: Any) -> str:
    return MP.event(openid, "unsubscribe", **kw)


def mp_scan(openid: str, scene: str, ticket: str | None = None, **kw: Any) -> str:
    """A follower scanned a parametric QR code (``SCAN`` event)."""
    return MP.event(openid, "SCAN", scene, extra={"Ticket": ticket or "sim_ticket"}, **kw)


def mp_subscribe_msg_popup(
    openid: str, templates: Iterable[tuple[str, str]], *, scene: int = 2, **kw: Any
) -> str:
    """``subscribe_msg_popup_event``: ``templates`` = [(template_id, "accept" | "reject")]."""
    items = [
        {"TemplateId": tid, "SubscribeStatusString": status, "PopupScene": scene}
        for tid, status in templates
    ]
    return MP.event(
        openid, "subscribe_msg_popup_event", extra={"SubscribeMsgPopupEvent": {"List": items}}, **kw
    )


# ---------------------------------------------------------------------- WeChat Work
work_text = WORK.text
work_image = WORK.image
work_location = WORK.location
work_event = WORK.event
work_scan = WORK.scan


def work_voice(userid: str, media_id: str, *, fmt: str = "amr", **kw: Any) -> str:
    """A voice note sent in the app's chat: ``MediaId`` and ``Format`` (amr or speex)."""
    return WORK.message(userid, "voice", {"MediaId": media_id, "Format": fmt}, **kw)


def work_video(userid: str, media_id: str, thumb_media_id: str, **kw: Any) -> str:
    """A video sent in the app's chat: ``MediaId`` (MP4) and ``ThumbMediaId``."""
    body = {"MediaId": media_id, "ThumbMediaId": thumb_media_id}
    return WORK.message(userid, "video", body, **kw)


def work_click(userid: str, key: str, **kw: Any) -> str:
    return WORK.event(userid, "click", key, **kw)


def work_view(userid: str, url: str, **kw: Any) -> str:
    return WORK.event(userid, "view", url, **kw)


def work_enter_agent(userid: str, **kw: Any) -> str:
    return WORK.event(userid, "enter_agent", "", **kw)


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
    return WORK.event(userid, "template_card_event", key, extra=extra, **kw)


# ---------------------------------------------------------------------- signing and posting
sign_mp = MP.sign
sign_work = WORK.sign
post_mp = MP.post
post_work = WORK.post
read_mp_reply = MP.read_reply
read_work_reply = WORK.read_reply


# ---------------------------------------------------------------------- URL verification
def mp_verify_query(config: SimConfig | None, echostr: str | None = None) -> dict[str, str]:
    """The GET WeChat sends when the callback URL is saved (always plaintext ``echostr``)."""
    cfg = config or SimConfig()
    ts, nc = stamp()
    return {
        "signature": sha1_signature(cfg.mp_token, ts, nc),
        "timestamp": ts,
        "nonce": nc,
        "echostr": echostr or secrets.token_hex(8),
    }


def work_verify_query(config: SimConfig | None, echostr: str | None = None) -> dict[str, str]:
    """WeChat Work's URL verification GET: ``echostr`` encrypted; the product must answer
    with the decrypted plaintext (returned here as ``_plain``, not part of the query)."""
    from wechatpy.enterprise.crypto import PrpCrypto

    cfg = config or SimConfig()
    plain = echostr or secrets.token_hex(8)
    encrypted = PrpCrypto(work_crypto(cfg).key).encrypt(plain, cfg.work_corp_id)
    encrypted = encrypted.decode() if isinstance(encrypted, bytes) else str(encrypted)
    ts, nc = stamp()
    return {
        "msg_signature": sha1_signature(cfg.work_token, ts, nc, encrypted),
        "timestamp": ts,
        "nonce": nc,
        "echostr": encrypted,
        "_plain": plain,
    }


# ---------------------------------------------------------------------- passive replies
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
