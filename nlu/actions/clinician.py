"""Clinician features: today's due list and patient search (both audited reads)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.care.rules import local_date
from bot.container import current as container
from bot.models import Staff, utcnow
from bot.security.masking import mask_name
from bot.services import access, due, history
from bot.services import dictionary as dictionary_service

from . import catheters, gate

MAX_LINES = 15


class ActionDueToday(gate.ClinicianAction):
    def name(self) -> str:
        return "action_due_today"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rt = container()
        today = local_date(utcnow(), rt.settings.timezone)
        with rt.uow() as uow:
            d = dictionary_service.current(uow.session)
            entries = due.due_list(
                uow.session,
                d,
                today,
                institution_id=gate.metadata(tracker).get("institution_id"),
                actor=catheters.actor(tracker),
            )
            uow.commit()
        if not entries:
            dispatcher.utter_message(text="今日没有需要维护的带管患者。")
            return []
        counts = {
            label: sum(1 for e in entries if e.status_label == label)
            for label in dict.fromkeys(e.status_label for e in entries)
        }
        lines = [
            f"【{e.status_label}】{e.patient_name} {e.device}{_when(e)}"
            for e in entries[:MAX_LINES]
        ]
        more = f"\n……另有{len(entries) - MAX_LINES}人" if len(entries) > MAX_LINES else ""
        summary = "，".join(f"{k}{v}人" for k, v in counts.items())
        dispatcher.utter_message(
            text=f"今日待维护（{today:%m月%d日}）：{summary}\n" + "\n".join(lines) + more
        )
        return []


def _when(entry: due.DueEntry) -> str:
    if entry.days_overdue:
        return f" 逾期{entry.days_overdue}天"
    if entry.next_due_on is None:
        return " 尚未排期，请今日评估"  # in place but never scheduled
    return f" 应于{entry.next_due_on:%m月%d日}"


class ActionSearchPatient(gate.ClinicianAction):
    def name(self) -> str:
        return "action_search_patient"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        name = gate.patient_name(tracker)
        if not name:
            dispatcher.utter_message(text="请发送要查找的患者姓名，例如“查患者 张三”。")
            return []
        rt = container()
        tz = rt.settings.timezone
        staff_id = gate.metadata(tracker).get("staff_id")
        with rt.uow() as uow:
            staff = uow.session.get(Staff, staff_id) if staff_id else None
            if staff is None:
                dispatcher.utter_message(text=gate.UNKNOWN_STAFF)
                return []
            d = dictionary_service.current(uow.session)
            patients = access.find_patients(  # only the patients this clinician may see
                uow.session, catheters.actor(tracker), str(name), context="search"
            )
            lines, links = [], []
            for p in patients:
                rows = history.placements(uow.session, d, p.id, local_date(utcnow(), tz), tz)
                born = f"（{p.birth_date:%Y}年生）" if p.birth_date else ""
                for row in rows:
                    overdue = f" 逾期{row.overdue_days}天" if row.overdue_days else ""
                    lines.append(f"{p.name}{born}{row.device} 【{row.status_label}】{overdue}")
                    links.append(
                        {
                            "title": (
                                f"{p.name} {row.device} {row.placed_on:%Y-%m-%d}置入："
                                "登记表与维护记录"
                            ),
                            "url": (
                                f"{rt.settings.public_base_url}/staff/catheters/{row.catheter.id}"
                            ),
                        }
                    )
                if not rows:
                    lines.append(f"{p.name}：暂无置管记录")
            uow.commit()
        if not patients:
            dispatcher.utter_message(
                text=f"没有找到名为“{mask_name(str(name))}”的患者（或您无权查看），请核对姓名。"
            )
            return []
        dispatcher.utter_message(text="\n".join(lines))
        for link in links[:3]:  # the catheter page: placement form, maintenance, reminders
            dispatcher.utter_message(custom={"card": "news", "description": "点击查看", **link})
        return []


class ActionScanHint(gate.ClinicianAction):
    def name(self) -> str:
        return "action_scan_hint"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text="请点击下方菜单“扫码”，扫描患者的置管二维码。")
        return []
