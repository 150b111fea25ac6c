"""Signed WeChat callbacks built with wechatpy's own crypto (not the product's code)."""

from __future__ import annotations

import hashlib
import itertools
import time
from urllib.parse import urlencode

from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

_msg_ids = itertools.count(7_000_000_000_000_000_000)


def next_msg_id() -> int:
    return next(_msg_ids)


def mp_text_xml(
    openid: str, content: str, msg_id: int | None = None, create_time: int | None = None
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next_msg_id()}</MsgId></xml>"
    )


def mp_event_xml(openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def work_text_xml(userid: str, content: str, agent_id: str, msg_id: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[ww_corp]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or next_msg_id()}</MsgId>"
        f"<AgentID>{agent_id}</AgentID></xml>"
    )


def _signature(token: str, *parts: str) -> str:
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def mp_request(
    settings, xml: str, *, aes: bool = True, timestamp: int | None = None, nonce: str = "n0nce"
) -> tuple[str, bytes]:
    """(path with query, body) of an official-account callback, plaintext or safe mode."""
    ts = str(timestamp or int(time.time()))
    query = {
        "timestamp": ts,
        "nonce": nonce,
        "openid": "x",
        "signature": _signature(settings.wechat_mp_token, ts, nonce),
    }
    if not aes:
        return f"/wechat/mp?{urlencode(query)}", xml.encode()
    crypto = WeChatCrypto(
        settings.wechat_mp_token, settings.wechat_mp_aes_key, settings.wechat_mp_appid
    )
    encrypted = crypto.encrypt_message(xml, nonce, ts)
    msg_signature = encrypted.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query.update(encrypt_type="aes", msg_signature=msg_signature)
    return f"/wechat/mp?{urlencode(query)}", encrypted.encode()


def work_request(
    settings, xml: str, *, timestamp: int | None = None, nonce: str = "n0nce"
) -> tuple[str, bytes]:
    ts = str(timestamp or int(time.time()))
    crypto = WorkCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    encrypted = crypto.encrypt_message(xml, nonce, ts)
    msg_signature = encrypted.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = {"msg_signature": msg_signature, "timestamp": ts, "nonce": nonce}
    return f"/wechat/work?{urlencode(query)}", encrypted.encode()
