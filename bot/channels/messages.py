"""Inbound WeChat / WeChat Work messages: safe parsing, the type registry, dedupe keys.

wechatpy 1.8.18 parses the common types; the events it lacks (WeChat Work
``template_card_event``, official-account ``subscribe_msg_*``) are registered here so they
arrive typed instead of as ``UnknownMessage``. Unknown types are still stored.
"""

from __future__ import annotations

from typing import Any

import xmltodict
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from wechatpy import events as mp_events
from wechatpy import messages as mp_messages
from wechatpy.enterprise import events as work_events
from wechatpy.enterprise import messages as work_messages
from wechatpy.fields import IntegerField, StringField
from wechatpy.messages import BaseMessage, UnknownMessage

from bot.models.enums import Channel

MAX_CALLBACK_BYTES = 64 * 1024  # WeChat callbacks are a few hundred bytes


class MalformedMessage(ValueError):
    """The body is not a well-formed, safe WeChat XML message."""


@work_events.register_event("template_card_event")
class TemplateCardEvent(mp_events.BaseEvent):
    """A click on a WeChat Work template card button."""

    agent = IntegerField("AgentID", 0)
    event = "template_card_event"
    key = StringField("EventKey")
    task_id = StringField("TaskId")
    card_type = StringField("CardType")
    response_code = StringField("ResponseCode")


@mp_events.register_event("subscribe_msg_popup_event")
class SubscribeMsgPopupEvent(mp_events.BaseEvent):
    """The user's answer in the subscribe-message popup (accept / reject per template)."""

    event = "subscribe_msg_popup_event"

    @property
    def decisions(self) -> list[dict[str, str]]:
        return subscribe_decisions(self._data.get("SubscribeMsgPopupEvent"))


@mp_events.register_event("subscribe_msg_change_event")
class SubscribeMsgChangeEvent(mp_events.BaseEvent):
    """The user changed a subscription in the account settings."""

    event = "subscribe_msg_change_event"

    @property
    def decisions(self) -> list[dict[str, str]]:
        return subscribe_decisions(self._data.get("SubscribeMsgChangeEvent"))


@mp_events.register_event("subscribe_msg_sent_event")
class SubscribeMsgSentEvent(mp_events.BaseEvent):
    """Delivery report of a subscribe message."""

    event = "subscribe_msg_sent_event"

    @property
    def decisions(self) -> list[dict[str, str]]:
        return subscribe_decisions(self._data.get("SubscribeMsgSentEvent"))


def subscribe_decisions(block: Any) -> list[dict[str, str]]:
    """``<List>`` elements come as a dict (one) or a list (several)."""
    if not block:
        return []
    items = block.get("List", []) if isinstance(block, dict) else block
    if isinstance(items, dict):
        items = [items]
    return [dict(item) for item in items]


_REGISTRIES = {
    Channel.MP: (mp_messages.MESSAGE_TYPES, mp_events.EVENT_TYPES),
    Channel.WORK: (work_messages.MESSAGE_TYPES, work_events.EVENT_TYPES),
}


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Parse a callback body into a dict, refusing DTDs, entities and oversized bodies."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_CALLBACK_BYTES:
        raise MalformedMessage(f"body of {len(raw)} bytes exceeds {MAX_CALLBACK_BYTES}")
    try:
        safe_fromstring(raw, forbid_dtd=True)  # entity bombs, external entities, DTDs
        parsed = xmltodict.parse(raw, disable_entities=True)
    except (DefusedXmlException, SyntaxError, ValueError) as exc:
        raise MalformedMessage(f"not well-formed XML: {exc}") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise MalformedMessage("the root element is not <xml>")
    return dict(root)


def load(channel: Channel, data: dict[str, Any]) -> BaseMessage:
    """The typed wechatpy message for a parsed (or stored) callback dict."""
    if not data.get("MsgType") or not data.get("FromUserName"):
        raise MalformedMessage("MsgType and FromUserName are required")
    data = _normalise_mp_subscribe(channel, dict(data))
    messages, events = _REGISTRIES[channel]
    msg_type = str(data["MsgType"]).lower()
    if msg_type == "event":
        cls = events.get(str(data.get("Event", "")).lower(), UnknownMessage)
    else:
        cls = messages.get(msg_type, UnknownMessage)
    return cls(data)


def _normalise_mp_subscribe(channel: Channel, data: dict[str, Any]) -> dict[str, Any]:
    """Following by scanning a parametric QR code: ``qrscene_<scene>`` → subscribe_scan."""
    if (
        channel is Channel.MP
        and str(data.get("Event", "")).lower() == "subscribe"
        and str(data.get("EventKey") or "").startswith("qrscene_")
    ):
        data["Event"] = "subscribe_scan"
        data["EventKey"] = data["EventKey"][len("qrscene_") :]
    return data


def dedupe_key(data: dict[str, Any]) -> str:
    """WeChat retries the same callback up to 3 times; this key identifies it.

    Messages carry a MsgId (unique per user, not globally); events have none, so they are
    keyed on CreateTime + Event + EventKey.
    """
    msg_id = data.get("MsgId")
    if msg_id and str(msg_id) != "0":
        return f"msg:{msg_id}"
    key = data.get("EventKey") or ""
    if isinstance(key, dict):  # never expected, but keep the key a string
        key = repr(sorted(key.items()))
    return f"evt:{data.get('CreateTime')}:{str(data.get('Event', '')).lower()}:{key}"[:160]
