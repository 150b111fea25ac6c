"""The QR code in chat (P2.2, C2.1): a clinician's scan shows the patient card and keeps the
catheter for the next registration; a patient's "我的二维码" sends the code as an image."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.care.rules import STATUS_LABELS, days_overdue, local_date, status_on
from bot.container import current as container
from bot.models import Catheter, Complication, MaintenanceRecord, utcnow
from bot.models.enums import CatheterState, ComplicationStatus
from bot.services import access, report_reading
from bot.services import dictionary as dictionary_service
from bot.services import reports as report_service
from bot.services.qr import QrInvalid

from . import catheters, gate


class ActionScanQr(gate.ClinicianAction):
    def name(self) -> str:
        return "action_scan_qr"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rt = container()
        tz = rt.settings.timezone
        with rt.uow() as uow:
            s = uow.session
            try:
                catheter = container().qr.catheter(
                    s, str(gate.entity(tracker, "scan_result") or "")
                )
            except QrInvalid as exc:
                dispatcher.utter_message(text=str(exc))
                return []
            try:
                access.open_catheter(s, catheters.actor(tracker), catheter.id, context="scan")
            except access.NotVisible:
                uow.commit()  # a refusal is audited as denied
                dispatcher.utter_message(
                    text="您没有查看该患者的权限。如需会诊，请联系患者的责任医院。"
                )
                return []
            d = dictionary_service.current(s)
            today = local_date(utcnow(), tz)
            removed = catheter.state is not CatheterState.IN_PLACE
            status = status_on(
                catheter.next_due_on, today, removed=removed, due_soon_days=d.due_soon_days
            )
            open_complications = s.scalars(
                select(Complication).where(
                    Complication.catheter_id == catheter.id,
                    Complication.status == ComplicationStatus.OPEN,
                )
            ).all()
            last = s.scalar(
                select(MaintenanceRecord)
                .where(MaintenanceRecord.catheter_id == catheter.id)
                .order_by(MaintenanceRecord.performed_at.desc())
                .limit(1)
            )
            p = catheter.patient
            overdue = days_overdue(catheter.next_due_on, today) if not removed else 0
            fields = [
                ("患者", p.name + (f"（{p.birth_date:%Y}年生）" if p.birth_date else "")),
                ("导管", catheters.describe(d, catheter)),
                ("状态", STATUS_LABELS[status] + (f"，逾期{overdue}天" if overdue else "")),
                (
                    "下次维护",
                    f"{catheter.next_due_on:%Y-%m-%d}" if catheter.next_due_on else "尚未排期",
                ),
                ("上次维护", f"{local_date(last.performed_at, tz):%Y-%m-%d}" if last else "无记录"),
                (
                    "并发症",
                    "、".join(d.label("complications", c.type) for c in open_complications) or "无",
                ),
            ]
            if catheter.external_length_cm is not None:
                fields.insert(2, ("置管外露", f"{catheter.external_length_cm} cm"))
            recent = _reports(
                s, d, p.id, f"{rt.settings.public_base_url}/staff/catheters/{catheter.id}"
            )
            uow.commit()
            catheter_id = catheter.id
        buttons = (
            []
            if removed
            else [
                {"title": "维护登记", "payload": "/register_maintenance"},
                {"title": "上报并发症", "payload": "/report_complication"},
                {"title": "请求会诊", "payload": "/request_consultation"},
            ]
        )
        dispatcher.utter_message(
            custom={
                "card": "notice",
                "title": f"【{STATUS_LABELS[status]}】{p.name}",
                "subtitle": "扫码查看",
                "fields": fields,
                "buttons": buttons,
            }
        )
        if recent:
            dispatcher.utter_message(text=recent)
        return [SlotSet(catheters.SCANNED, None if removed else catheter_id)]


RECENT_REPORTS = 3


def _reports(s: Session, d: Dictionary, patient_id: int, page: str) -> str | None:
    """The patient's latest reports after the card (C4.2): source, kind, date, flagged values,
    and the line-related cues of the newest; the whole list on the catheter page."""
    found = report_service.for_patient(s, patient_id)
    if not found:
        return None
    lines = [f"近期检验检查报告（共{len(found)}份）："]
    for r in found[:RECENT_REPORTS]:
        when = f"{r.report_date:%Y-%m-%d}" if r.report_date else "日期待补充"
        flagged = [line for line in report_reading.card_lines(r) if line[-1] in "↑↓"]
        what = "，".join(flagged[:3]) or (r.conclusion or "")[:30] or "未见异常标记"
        source = report_service.SOURCE_LABELS[r.source]
        lines.append(f"· {when} {report_service.kind_label(r.report_type)}（{source}）{what}")
    cues = report_reading.item_cues(list(found[0].items), d)
    lines += [f"⚠ {cue}" for cue in cues]
    lines.append(f"全部报告：{page}#reports")
    return "\n".join(lines)


class ActionShowQr(Action):
    """The patient's code as an image (tap to zoom in WeChat) with a link to the full-screen
    H5 view; a clinician's "二维码" is about a patient and is answered with how to scan."""

    def name(self) -> str:
        return "action_show_qr"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if gate.is_clinician(tracker):
            dispatcher.utter_message(
                text="请点击菜单“扫码”扫描患者的置管二维码，或发送“查患者 姓名”查找患者。"
            )
            return []
        if refused := gate.refusal_for_patient_feature(tracker):  # a new agreement first
            dispatcher.utter_message(text=refused)
            return []
        patient_id = gate.metadata(tracker).get("active_patient_id")
        if not patient_id:
            dispatcher.utter_message(text="请先绑定就诊人，再查看置管二维码。")
            return []
        rt = container()
        with rt.uow() as uow:
            rows = uow.session.scalars(
                select(Catheter)
                .where(Catheter.patient_id == patient_id, Catheter.state == CatheterState.IN_PLACE)
                .order_by(Catheter.placed_at.desc())
            ).all()
            d = dictionary_service.current(uow.session)
            images = [
                (c.id, catheters.describe(d, c), str(container().qr.png(c, rt.settings.media_root)))
                for c in rows
            ]
        if not images:
            dispatcher.utter_message(text="当前就诊人没有在位的导管，暂无置管二维码。")
            return []
        base = rt.settings.public_base_url
        for catheter_id, label, path in images:  # two messages each: WeChat allows five replies
            dispatcher.utter_message(
                custom={
                    "card": "news",
                    "title": f"{label}：置管二维码",
                    "description": "请维护时出示此二维码。点击打开全屏大图，方便护士扫描。",
                    "url": f"{base}/h5/catheters/{catheter_id}/qr",
                }
            )
            dispatcher.utter_message(image=path)
        return []
