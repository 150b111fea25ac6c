"""Render dialogue replies (Rasa-style dicts) as WeChat / WeChat Work messages.

Replies are channel-neutral; one ``notice`` card becomes a template card in WeChat Work and
a news article (or text) on the official account. Each result is ``(msg_type, payload)``
where payload is the API body without the recipient.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bot.dialogue import Reply
from bot.models.enums import Channel

log = logging.getLogger(__name__)

Rendered = tuple[str, dict[str, Any]]
WORK_MAX_FIELDS = 6
WORK_MAX_BUTTONS = 6


def render(reply: Reply, channel: Channel) -> list[Rendered]:
    custom = reply.get("custom")
    if isinstance(custom, dict):
        return _custom(custom, channel)
    out: list[Rendered] = []
    text = reply.get("text")
    buttons = reply.get("buttons") or []
    if text and buttons:
        out.append(_buttons(text, buttons, channel))
    elif text:
        out.append(text_message(text))
    image = reply.get("image")
    if image:
        out.append(
            text_message(f"图片：{image}")
            if str(image).startswith("http")
            else image_message(str(image))
        )
    return out


def text_message(content: str) -> Rendered:
    return "text", {"msgtype": "text", "text": {"content": content}}


def image_message(path: str) -> Rendered:
    return "image", {"msgtype": "image", "image": {"path": path}}


def _buttons(text: str, buttons: list[dict[str, Any]], channel: Channel) -> Rendered:
    if channel is Channel.WORK:
        lines = text.split("\n", 1)
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "main_title": {"title": lines[0][:26]},
            "task_id": uuid.uuid4().hex,
            "button_list": [
                {
                    "text": b.get("title", "")[:10],
                    "style": 1,
                    "key": str(b.get("payload", ""))[:1024],
                }
                for b in buttons[:WORK_MAX_BUTTONS]
            ],
        }
        if len(lines) > 1:
            card["sub_title_text"] = lines[1][:112]
        return "template_card", {"msgtype": "template_card", "template_card": card}
    options = "\n".join(f"{n}. {b.get('title', '')}" for n, b in enumerate(buttons, 1))
    return text_message(f"{text}\n\n{options}\n回复对应文字即可")


def _custom(card: dict[str, Any], channel: Channel) -> list[Rendered]:
    kind = card.get("card")
    if kind in ("text", "apology"):  # an apology's error detail is for the inbox row only
        return [text_message(str(card.get("text", "")))]
    if kind == "image":
        return [image_message(str(card["path"]))]
    if kind == "news":
        return [_news(card)]
    if kind == "notice":
        return [_notice(card, channel)]
    log.warning("unknown card %r rendered as text", kind)
    return (
        [text_message(str(card.get("text") or card.get("title") or ""))]
        if card.get("text") or card.get("title")
        else []
    )


def _news(card: dict[str, Any]) -> Rendered:
    article = {
        "title": card.get("title", ""),
        "description": card.get("description", ""),
        "url": card.get("url", ""),
        "picurl": card.get("picurl", ""),
    }
    return "news", {"msgtype": "news", "news": {"articles": [article]}}


def _notice(card: dict[str, Any], channel: Channel) -> Rendered:
    fields = [(str(k), str(v)) for k, v in card.get("fields", [])]
    if channel is Channel.WORK:
        body: dict[str, Any] = {
            "card_type": "button_interaction" if card.get("buttons") else "text_notice",
            "main_title": {
                "title": str(card.get("title", ""))[:26],
                "desc": str(card.get("subtitle", ""))[:30],
            },
            "horizontal_content_list": [
                {"keyname": k[:5], "value": v[:26]} for k, v in fields[:WORK_MAX_FIELDS]
            ],
            "task_id": uuid.uuid4().hex,
        }
        if card.get("description"):
            body["sub_title_text"] = str(card["description"])[:112]
        if card.get("emphasis"):
            body["emphasis_content"] = {
                "title": str(card["emphasis"])[:10],
                "desc": str(card.get("emphasis_desc", ""))[:15],
            }
        if card.get("buttons"):
            body["button_list"] = [
                {
                    "text": str(b.get("title", ""))[:10],
                    "style": 1,
                    "key": str(b.get("payload", ""))[:1024],
                }
                for b in card["buttons"][:WORK_MAX_BUTTONS]
            ]
        else:
            body["card_action"] = {
                "type": 1,
                "url": card.get("url") or "https://work.weixin.qq.com",
            }
        return "template_card", {"msgtype": "template_card", "template_card": body}
    lines = [str(card.get("title", ""))]
    if card.get("subtitle"):
        lines.append(str(card["subtitle"]))
    lines += [f"{k}：{v}" for k, v in fields]
    if card.get("description"):
        lines.append(str(card["description"]))
    if card.get("url"):
        return _news(
            {
                "title": card.get("title", ""),
                "description": "\n".join(lines[1:]),
                "url": card["url"],
                "picurl": card.get("picurl", ""),
            }
        )
    return text_message("\n".join(lines))
