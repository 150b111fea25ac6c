"""The patient's home card in chat (P2.4, P2.5): the active 就诊人, their catheters with
status in words, unread reminders, and the entries; the reminder list; the history summary."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.care.rules import local_date
from bot.container import current as container
from bot.models import InAppMessage, MaintenanceRecord, Patient, utcnow
from bot.services import dictionary as dictionary_service
from bot.services import history

from . import gate
from .account import bind_card
from .report import my_reports

RECENT_VISITS = 3  # maintenance visits in the chat summary; the H5 page has them all


def _patient_id(tracker: Tracker, dispatcher: CollectingDispatcher) -> int | None:
    patient_id = gate.metadata(tracker).get("active_patient_id")
    if not patient_id:
        dispatcher.utter_message(text="您还没有绑定就诊人，绑定后即可查看导管与维护提醒。")
        bind_card(dispatcher)
        return None
    return int(patient_id)


class ActionMyCatheter(gate.PatientAction):
    def name(self) -> str:
        return "action_my_catheter"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        patient_id = _patient_id(tracker, dispatcher)
        if patient_id is None:
            return []
        rt = container()
        today = local_date(utcnow(), rt.settings.timezone)
        with rt.uow() as uow:
            s = uow.session
            d = dictionary_service.current(s)
            patient = s.get(Patient, patient_id)
            assert patient is not None
            fields = [
                (p.device, f"【{p.status_label}】{_when(p)}")
                for p in history.placements(s, d, patient_id, today, rt.settings.timezone)
                if p.in_place
            ]
            unread = history.unread_count(s, patient_id)
            name = patient.name
        fields.append(("未读提醒", f"{unread}条"))
        dispatcher.utter_message(
            custom={
                "card": "notice",
                "title": f"{name}的导管",
                "fields": fields or [("导管", "暂无在位导管")],
                "description": "点击查看详情、置管二维码与提醒；发送“我的二维码”可直接获取二维码。",
                "url": f"{rt.settings.public_base_url}/h5/home",
            }
        )
        return []


class ActionMyReminders(gate.PatientAction):
    def name(self) -> str:
        return "action_my_reminders"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        patient_id = _patient_id(tracker, dispatcher)
        if patient_id is None:
            return []
        with container().uow() as uow:
            rows = uow.session.scalars(
                select(InAppMessage)
                .where(InAppMessage.patient_id == patient_id)
                .order_by(InAppMessage.created_at.desc())
                .limit(5)
            ).all()
            lines = [f"{m.created_at:%m-%d} {m.title}：{m.body}" for m in rows]
            for m in rows:
                m.read_at = m.read_at or utcnow()
            uow.commit()
        dispatcher.utter_message(
            text="最近的提醒：\n" + "\n".join(lines) if lines else "暂无维护提醒。"
        )
        return []


class ActionHistory(gate.PatientAction):
    def name(self) -> str:
        return "action_history"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """“历史记录” (P6.1, P6.3): the placements with their maintenance counts and the last
        few visits, then a link to the full records on the H5 page. The history of reports
        (“我的报告”, P6.2) is the report list."""
        if gate.entity(tracker, "record_type") == "REPORT":
            return my_reports(dispatcher, tracker)
        patient_id = _patient_id(tracker, dispatcher)
        if patient_id is None:
            return []
        rt = container()
        tz = rt.settings.timezone
        with rt.uow() as uow:
            s = uow.session
            patient = s.get(Patient, patient_id)
            assert patient is not None
            name = patient.name
            rows = history.placements(
                s, dictionary_service.current(s), patient_id, local_date(utcnow(), tz), tz
            )
            devices = {p.catheter.id: p.device for p in rows}
            recent = history.visits(s, list(devices), limit=RECENT_VISITS)
            lines = (
                [f"{name}的置管记录（共{len(rows)}次）："] if rows else [f"{name}暂无置管记录。"]
            )
            lines += [
                f"· {p.device} {p.placed_on:%Y-%m-%d}置入【{p.status_label}】，维护{p.visits}次"
                for p in rows
            ]
            lines += [f"最近{len(recent)}次维护："] if recent else []
            lines += [_visit_line(v, devices[v.catheter_id], tz) for v in recent]
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(
            custom={
                "card": "news",
                "title": f"{name}的置管与维护记录",
                "description": "查看每次置管的登记表、全部维护记录与提醒。",
                "url": f"{rt.settings.public_base_url}/h5/patients/{patient_id}",
            }
        )
        return []


def _when(p: history.Placement) -> str:
    if p.overdue_days:
        return f"逾期{p.overdue_days}天"
    due = p.catheter.next_due_on
    return f"{due:%m月%d日}维护" if due else "待安排"


def _visit_line(v: MaintenanceRecord, device: str, tz: ZoneInfo) -> str:
    """· 11-20 PICC 冲封管、更换敷料，外露3.5cm，臂围26.0cm"""
    items = "、".join(history.items_done(v)) or "维护"
    sizes = (("外露", v.external_length_cm), ("臂围", v.arm_circumference_cm))
    measured = "".join(f"，{label}{value}cm" for label, value in sizes if value is not None)
    return f"· {local_date(v.performed_at, tz):%m-%d} {device} {items}{measured}"
