"""Turn a typed inbound message into what the dialogue engine receives.

Free text stays text; everything else becomes an intent with entities, so menu clicks,
scans, locations, photos and card buttons go through the same dialogue rules. Events that
need no conversation (unsubscribe, periodic location reports, menu links) return None.
"""

from __future__ import annotations

from typing import Any

from wechatpy.messages import BaseMessage

from bot.dialogue import DialogueInput

from .messages import subscribe_decisions

MAX_TEXT = 500  # longer texts are cut to a bounded prefix; the dialogue says so


def to_dialogue_input(msg: BaseMessage) -> DialogueInput | None:
    data: dict[str, Any] = msg._data
    msg_type = str(data.get("MsgType", "")).lower()
    if msg_type == "text":
        return _text(str(data.get("Content") or ""))
    if msg_type == "voice":
        recognition = (data.get("Recognition") or "").strip()
        if recognition:
            return _text(recognition, voice=True)
        return DialogueInput(
            intent="voice_unrecognized", entities={"media_id": data.get("MediaId")}
        )
    if msg_type == "image":
        return DialogueInput(
            intent="upload_image",
            entities={"media_id": data.get("MediaId"), "pic_url": data.get("PicUrl")},
        )
    if msg_type in ("video", "shortvideo"):
        return DialogueInput(intent="upload_video", entities={"media_id": data.get("MediaId")})
    if msg_type == "location":
        return DialogueInput(
            intent="share_location",
            entities={
                "latitude": _float(data.get("Location_X")),
                "longitude": _float(data.get("Location_Y")),
                "label": data.get("Label") or "",
            },
        )
    if msg_type == "link":
        return DialogueInput(
            intent="share_link", entities={"url": data.get("Url"), "title": data.get("Title")}
        )
    if msg_type == "event":
        return _event(str(data.get("Event", "")).lower(), data)
    return None  # unknown types are stored and acknowledged, no conversation


def _text(content: str, *, voice: bool = False) -> DialogueInput:
    text = content.strip()
    if not text:
        return DialogueInput(intent="empty_message")
    entities: dict[str, Any] = {}
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
        entities["truncated"] = True
    if voice:
        entities["voice"] = True
    return DialogueInput(text=text, entities=entities)


def _event(event: str, data: dict[str, Any]) -> DialogueInput | None:
    key = data.get("EventKey") or ""
    if event == "click":
        return DialogueInput(intent=_menu_intent(key))
    if event in ("scancode_push", "scancode_waitmsg"):
        info = data.get("ScanCodeInfo") or {}
        return DialogueInput(
            intent="scan_qr",
            entities={
                "scan_result": info.get("ScanResult", ""),
                "scan_type": info.get("ScanType", ""),
            },
        )
    if event in ("subscribe", "subscribe_scan"):
        return DialogueInput(intent="subscribe", entities={"scene": key} if key else {})
    if event == "scan":  # an existing follower scanned a parametric QR code
        return DialogueInput(intent="scan_scene", entities={"scene": key})
    if event == "enter_agent":
        return DialogueInput(intent="enter_agent")
    if event == "template_card_event":
        if str(key).startswith("/"):  # a button carrying a dialogue payload, e.g. /affirm
            return DialogueInput(text=str(key), entities={"task_id": data.get("TaskId", "")})
        return DialogueInput(
            intent="card_button",
            entities={
                "button_key": key,
                "task_id": data.get("TaskId", ""),
                "response_code": data.get("ResponseCode", ""),
            },
        )
    if event in ("subscribe_msg_popup_event", "subscribe_msg_change_event"):
        block = data.get("SubscribeMsgPopupEvent") or data.get("SubscribeMsgChangeEvent")
        decisions = subscribe_decisions(block)
        return DialogueInput(
            intent="subscription_decision",
            entities={
                "accepted": _templates(decisions, "accept"),
                "rejected": _templates(decisions, "reject"),
            },
        )
    # unsubscribe, view (menu link), LOCATION reports, delivery reports: no conversation
    return None


def _templates(decisions: list[dict[str, str]], status: str) -> list[str]:
    return [d.get("TemplateId", "") for d in decisions if d.get("SubscribeStatusString") == status]


def _menu_intent(key: str) -> str:
    """Menu keys are written as intent names in cards/menus.json (e.g. ``my_catheter``)."""
    cleaned = key.strip().lower()
    if cleaned and cleaned.replace("_", "").isalnum():
        return cleaned
    return "menu_unknown"


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
