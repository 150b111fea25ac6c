"""“我的并发症” / “未结案并发症” in the clinician chat (C3.5): a short list within the access
rules (the read audited by the service) and links to the H5 list and each record."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.container import current as container
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, gate
from .complication import type_code

LISTED = 8  # lines in chat; the rest on the H5 list
LINKED = 2  # records opened by a card of their own
_OPEN = re.compile(r"未结案|没结案|未结|没处理完|未关闭|在处理|处理中|待处理|开着|未完成|没关")
_CLOSED = re.compile(r"已结案|结案了的|关闭了的|已关闭")
_TYPE_HINT = re.compile(r"静脉炎|血栓|堵|渗|感染|移位|脱出|断裂|破损|过敏|皮肤损伤|夹闭")


def filters(text: str, d: Any) -> dict[str, Any]:
    """What the clinician asked for: mine (我的 / 我报的 / 我负责的), status, type."""
    mine = "我" in text
    status = "closed" if _CLOSED.search(text) else "open" if _OPEN.search(text) else None
    if status is None and not mine:
        status = "open"  # "并发症列表": what still needs handling
    kind = type_code(text, d) if _TYPE_HINT.search(text) else None
    return {"mine": mine, "status": status, "type_code": kind}


class ActionListComplications(gate.ClinicianAction):
    def name(self) -> str:
        return "action_list_complications"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not gate.is_clinician(tracker) and gate.metadata(tracker).get("channel") != "work":
            from .home import ActionHistory  # a patient's "我的并发症": their own records

            return ActionHistory().run(dispatcher, tracker, domain)
        return super().run(dispatcher, tracker, domain)

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rt = container()
        text = str(tracker.latest_message.get("text") or "")
        with rt.uow() as uow:
            d = dictionary_service.current(uow.session)
            asked = filters(text, d)
            entries = complication_service.listing(
                uow.session, d, actor=catheters.actor(tracker), limit=100, **asked
            )
            uow.commit()
        base = f"{rt.settings.public_base_url}/staff/complications"
        query = "&".join(
            [f"status={asked['status']}"] * bool(asked["status"])
            + ["mine=1"] * asked["mine"]
            + [f"type={asked['type_code']}"] * bool(asked["type_code"])
        )
        title = _title(asked, d)
        if not entries:
            dispatcher.utter_message(text=f"{title}：暂无。")
            return []
        lines = [f"{title}（共{len(entries)}个，未结案在前）："]
        lines += [_line(e) for e in entries[:LISTED]]
        if len(entries) > LISTED:
            lines.append(f"……另有{len(entries) - LISTED}个，请在列表页查看。")
        dispatcher.utter_message(text="\n".join(lines))
        for e in entries[:LINKED]:
            dispatcher.utter_message(
                custom={
                    "card": "news",
                    "title": f"#{e.id} {e.patient_name} {e.type_label}【{e.status_label}】",
                    "description": "查看完整记录：处理经过、照片与会诊",
                    "url": f"{base}/{e.id}",
                }
            )
        dispatcher.utter_message(
            custom={
                "card": "news",
                "title": title,
                "description": "按类型、导管、科室、状态筛选，查看全部并发症",
                "url": f"{base}?{query}" if query else base,
            }
        )
        return []


def _title(asked: dict[str, Any], d: Any) -> str:
    words = {"open": "未结案的", "closed": "已结案的", None: ""}[asked["status"]]
    kind = d.label("complications", asked["type_code"]) if asked["type_code"] else "并发症"
    return ("我的" if asked["mine"] else "") + words + kind


def _line(e: complication_service.Entry) -> str:
    grade = f" {e.grade}级" if e.grade is not None else ""
    age = f"已{e.days_open}天" if e.status_label != "已结案" else ""
    last = f"，最近：{e.last_step[:20]}" if e.last_step else ""
    photos = f"，照片{e.photo_count}张" if e.photo_count else ""
    return (
        f"· #{e.id} {e.patient_name} {e.device} {e.type_label}{grade}"
        f"【{e.status_label}】{age}{last}{photos}"
    )
