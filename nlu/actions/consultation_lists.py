"""“我的会诊” (C3.5) and “外院记录” (C4.1, C4.2) in the clinician chat: a short answer within
the access rules (the services check and audit the read) and a link to the H5 page with the
whole list."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.care.rules import local_date
from bot.container import current as container
from bot.models import Catheter, Staff
from bot.services import access, outside_records
from bot.services.consultations import views

from . import catheters, gate

LISTED = 5  # consultations / patients in chat; the rest on the H5 page
LATEST = 3  # a patient's newest outside records in chat
CONCLUSION_START = 20  # characters of a conclusion shown in a line


def _staff(tracker: Tracker) -> int | None:
    staff_id = gate.metadata(tracker).get("staff_id")
    return int(staff_id) if staff_id else None


class ActionMyConsultations(gate.ClinicianAction):
    def name(self) -> str:
        return "action_my_consultations"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rt = container()
        base = rt.settings.public_base_url
        with rt.uow() as uow:
            staff = uow.session.get(Staff, _staff(tracker))
            if staff is None:
                dispatcher.utter_message(text=gate.UNKNOWN_STAFF)
                return []
            lines = views.mine(uow.session, staff, limit=LISTED + 1)
            said = [
                _line(n, line, rt.settings.timezone) for n, line in enumerate(lines[:LISTED], 1)
            ]
            uow.commit()  # the list read is audited
        if not lines:
            dispatcher.utter_message(
                text="您目前没有会诊。扫描患者的置管二维码后发送“请求会诊”和问题，"
                "例如“请求会诊，穿刺点渗液两天了”，即可发起会诊。"
            )
            return []
        more = "（仅列出前5个）" if len(lines) > LISTED else ""
        dispatcher.utter_message(
            text=f"我的会诊{more}：\n" + "\n".join(said) + f"\n全部会诊：{base}/staff/consultations"
        )
        return []


def _line(n: int, line: views.Line, tz: Any) -> str:
    c = line.consultation
    asked = local_date(line.asked_at, tz)
    parts = [f"{n}. {c.id}号 {line.patient_initials}", line.device or "", line.status_label]
    text = " ".join(p for p in parts if p) + f" {asked:%m-%d}申请"
    if line.conclusion:
        start = line.conclusion[:CONCLUSION_START]
        text += f"\n   结论：{start}{'…' if len(line.conclusion) > CONCLUSION_START else ''}"
    return text


class ActionOutsideRecords(gate.ClinicianAction):
    def name(self) -> str:
        return "action_outside_records"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        rt = container()
        with rt.uow() as uow:
            staff = uow.session.get(Staff, _staff(tracker))
            if staff is None:
                dispatcher.utter_message(text=gate.UNKNOWN_STAFF)
                return []
            scanned = tracker.get_slot(catheters.SCANNED)
            catheter = uow.session.get(Catheter, int(scanned)) if scanned else None
            try:
                said = (
                    _patient(uow.session, staff, catheter.patient_id, catheter.patient.name)
                    if catheter is not None
                    else _patients(uow.session, staff)
                )
            except access.NotVisible:
                said = "您没有查看该患者外院记录的权限。"
            uow.commit()  # reads and refusals are audited
        dispatcher.utter_message(text=said)
        return []


def _patient(session: Any, staff: Staff, patient_id: int, name: str) -> str:
    rt = container()
    page = f"{rt.settings.public_base_url}/staff/patients/{patient_id}/outside"
    records = outside_records.for_patient(
        session, staff, patient_id, tz=rt.settings.timezone, context="chat"
    )
    if not records:
        return f"{name}没有其他医院登记的记录。\n外院记录页面：{page}"
    counts = {k: sum(1 for r in records if r.kind == k) for k in outside_records.KINDS}
    summary = "、".join(f"{outside_records.KIND_LABELS[k]}{n}条" for k, n in counts.items() if n)
    latest = [
        f"· {r.on:%Y-%m-%d} {r.institution} {r.kind_label}：{r.summary}"
        + (f"（{r.person}）" if r.person else "")
        for r in records[:LATEST]
    ]
    return (
        f"{name}的外院记录共{len(records)}条（{summary}），最近：\n"
        + "\n".join(latest)
        + f"\n全部外院记录：{page}"
    )


def _patients(session: Any, staff: Staff) -> str:
    rt = container()
    page = f"{rt.settings.public_base_url}/staff/outside-records"
    patients = outside_records.recent_patients(
        session, staff, LISTED, tz=rt.settings.timezone, context="chat"
    )
    if not patients:
        return f"您可查看的患者中，暂无其他医院登记的记录。\n外院记录页面：{page}"
    lines = [
        f"{n}. {p.name} {p.counts_text}（最近 {p.latest_on:%Y-%m-%d}）"
        for n, p in enumerate(patients, 1)
    ]
    return (
        "有外院记录的患者（最近更新在前）：\n"
        + "\n".join(lines)
        + "\n扫描患者的置管二维码后发送“外院记录”可查看该患者的明细。"
        + f"\n全部外院记录：{page}"
    )
