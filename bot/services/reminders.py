"""The reminder sweep (P3.1–P3.3, A7.4): N days before the due date, on the day, and when
overdue, once per catheter, due date, kind and channel.

One set-based query finds the catheters in place whose next due date is within the window;
each (catheter, due date, kind, channel) becomes a reminder row under a unique key, inserted
with ON CONFLICT DO NOTHING, so two sweeps running at once — or a sweep re-run after a crash —
create each reminder once. A reminder is delivered through the outbox (dedupe key
``reminder:{id}``); a reminder whose outbox row is missing (a crash between the two) gets it
on the next sweep. SMS respects the patient's quiet hours (``not_before``). Overdue patients of
a tier with escalation are reported to their responsible nurse in WeChat Work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, func, insert, literal, select, update
from sqlalchemy import cast as cast_sql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    InAppMessage,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
    Staff,
)
from bot.models.enums import CatheterState, Channel, DeliveryStatus, ReminderKind
from bot.security.crypto import PiiCipher

from . import notify

log = logging.getLogger(__name__)
BATCH = 2000
PATIENT_CHANNELS = (Channel.INAPP, Channel.MP, Channel.SMS)
KEY_PREFIX = "reminder:"


# the outbox row delivering a reminder has the dedupe key "reminder:{id}"
_OUTBOX_KEY = literal(KEY_PREFIX) + cast_sql(Reminder.id, String)


@dataclass
class SweepResult:
    created: int = 0
    outbox_ids: list[int] = field(default_factory=list)  # enqueue after commit
    delivered_inapp: int = 0


def kind_for(d: Dictionary, next_due: date, today: date) -> ReminderKind | None:
    days_left = (next_due - today).days
    if days_left < 0:
        return ReminderKind.OVERDUE
    if days_left == 0:
        return ReminderKind.DUE
    if days_left <= d.reminder_days_before:
        return ReminderKind.BEFORE
    return None


def in_quiet_hours(local: datetime, start: str, end: str) -> datetime | None:
    """When the quiet hours around ``local`` end, or None if ``local`` is outside them."""
    s, e = time.fromisoformat(start), time.fromisoformat(end)
    t = local.time()
    quiet = (s <= t or t < e) if s > e else (s <= t < e)
    if not quiet:
        return None
    end_day = local.date() + timedelta(days=1) if s > e and t >= s else local.date()
    return datetime.combine(end_day, e, tzinfo=local.tzinfo)


def sweep(
    session: Session, d: Dictionary, cipher: PiiCipher, now: datetime, tz: ZoneInfo,
    *, public_base_url: str, reminder_template: str = "",
) -> SweepResult:  # fmt: skip
    """Create the reminders due at ``now`` and the outbox rows that deliver them."""
    today = rules.local_date(now, tz)
    horizon = today + timedelta(days=d.reminder_days_before)
    result = SweepResult()
    query = (
        select(Catheter.id, Catheter.patient_id, Catheter.next_due_on, Patient.reminder_channels)
        .join(Patient, Patient.id == Catheter.patient_id)
        .where(Catheter.state == CatheterState.IN_PLACE, Catheter.next_due_on <= horizon)
        .order_by(Catheter.id)
        .execution_options(yield_per=BATCH)
    )
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        dialect_insert(Reminder)
        .on_conflict_do_nothing(index_elements=["catheter_id", "due_on", "channel", "kind"])
        .returning(Reminder.id)
    )
    # the reminders of this window that exist already: only the missing ones are written, so a
    # sweep that finds nothing new writes nothing (ON CONFLICT still guards concurrent sweeps)
    existing = set(
        session.execute(
            select(Reminder.catheter_id, Reminder.due_on, Reminder.channel, Reminder.kind)
            .join(Catheter, Catheter.id == Reminder.catheter_id)
            .where(Reminder.due_on == Catheter.next_due_on, Catheter.next_due_on <= horizon)
        ).tuples()
    )
    rows: list[dict[str, object]] = []

    def flush() -> None:
        if rows:
            result.created += len(session.execute(stmt, rows).all())
            rows.clear()

    allowed = {x.value for x in PATIENT_CHANNELS}
    for catheter_id, patient_id, next_due, channels in session.execute(query):
        kind = kind_for(d, next_due, today)
        if kind is None:
            continue
        for channel in (Channel(c) for c in (channels or []) if c in allowed):
            if (catheter_id, next_due, channel, kind) in existing:
                continue
            rows.append({"catheter_id": catheter_id, "patient_id": patient_id, "due_on": next_due,
                         "kind": kind, "channel": channel, "status": DeliveryStatus.PENDING,
                         "attempts": 0, "created_at": now})  # fmt: skip
        if len(rows) >= BATCH:
            flush()
    flush()
    _deliver_pending(session, d, cipher, now, tz, result, public_base_url, reminder_template)
    return result


def _deliver_pending(
    session: Session, d: Dictionary, cipher: PiiCipher, now: datetime, tz: ZoneInfo,
    result: SweepResult, public_base_url: str, reminder_template: str,
) -> None:  # fmt: skip
    """Every pending reminder without its outbox row gets one (also after a crash), in batches:
    one query reads them with their catheter and patient, bulk statements write the in-app
    messages, outbox rows and statuses."""
    today = rules.local_date(now, tz)
    local = now.astimezone(tz)
    order = [ReminderKind.BEFORE, ReminderKind.DUE, ReminderKind.OVERDUE]
    query = (
        select(
            Reminder.id,
            Reminder.kind,
            Reminder.channel,
            Reminder.due_on,
            Reminder.patient_id,
            Catheter.next_due_on,
            Catheter.state,
            Catheter.device_type,
            Patient.name,
            Patient.phone_enc,
            Patient.quiet_start,
            Patient.quiet_end,
        )  # fmt: skip
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .outerjoin(
            OutboxMessage,
            OutboxMessage.dedupe_key == _OUTBOX_KEY,
        )
        .where(
            Reminder.status == DeliveryStatus.PENDING,
            OutboxMessage.id.is_(None),
            (Reminder.not_before.is_(None)) | (Reminder.not_before <= now),
        )
        .order_by(Reminder.id)
    )
    rows = session.execute(query).all()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        mp_patients = {r.patient_id for r in batch if r.channel is Channel.MP}
        openids: dict[int, str] = {}
        if mp_patients:
            for patient_id, openid in session.execute(
                select(PatientProfile.patient_id, func.min(PatientAccount.openid))
                .join(PatientAccount, PatientAccount.id == PatientProfile.account_id)
                .where(PatientProfile.patient_id.in_(mp_patients), PatientAccount.subscribed.is_(True))
                .group_by(PatientProfile.patient_id)
            ):  # fmt: skip
                openids[patient_id] = openid
        updates: list[dict[str, Any]] = []
        inapp: list[dict[str, Any]] = []
        outbox: list[dict[str, Any]] = []
        for r in batch:
            current = kind_for(d, r.due_on, today)
            if (r.next_due_on != r.due_on or r.state is not CatheterState.IN_PLACE
                    or (current in order and order.index(current) > order.index(r.kind))):  # fmt: skip
                # held back (quiet hours) until a later reminder, or a new maintenance, replaced it
                updates.append(
                    {
                        "id": r.id,
                        "status": DeliveryStatus.SKIPPED,
                        "last_error": "已被更新的提醒或维护记录取代",
                    }
                )
                continue
            device = d.label("device_types", r.device_type)
            overdue = rules.days_overdue(r.due_on, today)
            title, body = _words(r.kind, r.name, device, r.due_on, overdue)
            key = f"{KEY_PREFIX}{r.id}"
            if r.channel is Channel.INAPP:
                inapp.append({"patient_id": r.patient_id, "reminder_id": r.id, "kind": "reminder", "title": title,
                              "body": body, "link": f"{public_base_url}/h5/home", "created_at": now})  # fmt: skip
                updates.append({"id": r.id, "status": DeliveryStatus.SENT, "sent_at": now})
            elif r.channel is Channel.SMS:
                phone = (
                    cipher.decrypt(r.phone_enc, context="patient.phone") if r.phone_enc else None
                )
                if not phone:
                    updates.append(
                        {"id": r.id, "status": DeliveryStatus.FAILED, "last_error": "没有手机号"}
                    )
                    continue
                resume = in_quiet_hours(local, r.quiet_start, r.quiet_end)
                if resume is not None:
                    updates.append({"id": r.id, "not_before": resume.astimezone(UTC)})
                    continue
                template = "reminder_overdue" if r.kind is ReminderKind.OVERDUE else "reminder_due"
                params = [r.name, device, str(overdue) if overdue else f"{r.due_on:%m月%d日}"]
                outbox.append(notify.sms_row(cipher, phone, template, params, key=key, now=now))
            elif r.channel is Channel.MP:
                if r.patient_id not in openids:
                    updates.append(
                        {
                            "id": r.id,
                            "status": DeliveryStatus.FAILED,
                            "last_error": "没有关注公众号的绑定账号",
                        }
                    )
                    continue
                body_ = {"msgtype": "text", "text": {"content": f"{title}\n{body}"},
                         "_fallback": _subscribe(reminder_template, device, r.due_on, title, public_base_url)}  # fmt: skip
                outbox.append({"dedupe_key": key, "channel": Channel.MP, "recipient": openids[r.patient_id],
                               "msg_type": "text", "payload": body_, "status": DeliveryStatus.PENDING,
                               "attempts": 0, "created_at": now})  # fmt: skip
        if inapp:
            session.execute(insert(InAppMessage), inapp)
            result.delivered_inapp += len(inapp)
        if outbox:
            result.outbox_ids += notify.insert_rows(session, outbox)
        _update_grouped(session, updates)


def _update_grouped(session: Session, updates: list[dict[str, Any]]) -> None:
    """One UPDATE … WHERE id IN (…) per distinct set of values (a handful per batch)."""
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for u in updates:
        values = tuple(sorted((k, v) for k, v in u.items() if k != "id"))
        groups.setdefault(values, []).append(int(u["id"]))
    for values, ids in groups.items():
        session.execute(update(Reminder).where(Reminder.id.in_(ids)).values(dict(values)))


def _words(kind: ReminderKind, name: str, device: str, due: date, overdue: int) -> tuple[str, str]:
    if kind is ReminderKind.OVERDUE:
        return (
            "导管维护已逾期",
            f"{name}的{device}维护已逾期{overdue}天（应于{due:%m月%d日}），请尽快到医院或就近机构维护。",
        )
    if kind is ReminderKind.DUE:
        return (
            "今日需维护导管",
            f"{name}的{device}今天（{due:%m月%d日}）需要维护，请按时到医院或就近机构维护。",
        )
    return "导管维护提醒", f"{name}的{device}将于{due:%m月%d日}到期维护，请提前安排。"


def _subscribe(template: str, device: str, due: date, title: str, base: str) -> dict[str, object]:
    """The subscribe message used when the 48-hour customer-service window is closed."""
    return {"_api": "subscribe", "template_id": template or "reminder", "page": f"{base}/h5/home",
            "data": {"thing1": {"value": device[:20]}, "time2": {"value": f"{due:%Y年%m月%d日}"},
                     "thing3": {"value": title[:20]}}}  # fmt: skip


def escalate(session: Session, d: Dictionary, now: datetime, tz: ZoneInfo) -> list[int]:
    """Overdue patients whose tier escalates go to their responsible nurse in WeChat Work, once
    per catheter and due date; the outbox ids to enqueue."""
    today = rules.local_date(now, tz)
    ids = []
    tiers = [code for code, t in d.tiers.items() if t.escalate_overdue_days is not None]
    rows = session.execute(
        select(Catheter, Patient.name, Staff.wecom_userid)
        .join(Patient, Patient.id == Catheter.patient_id)
        .join(Staff, Staff.id == Catheter.responsible_staff_id)
        .where(and_(Catheter.state == CatheterState.IN_PLACE, Catheter.tier.in_(tiers),
                    Catheter.next_due_on < today, Staff.wecom_userid.is_not(None), Staff.active.is_(True)))
    ).all()  # fmt: skip
    for catheter, name, userid in rows:
        if not rules.needs_escalation(d, catheter.tier, catheter.next_due_on, today):
            continue
        overdue = rules.days_overdue(catheter.next_due_on, today)
        text = (f"【逾期提醒·{d.tiers[catheter.tier].label}】{name}的{d.label('device_types', catheter.device_type)}"
                f"已逾期{overdue}天未维护（应于{catheter.next_due_on:%m月%d日}），请联系患者。")  # fmt: skip
        ids.append(notify.text(session, Channel.WORK, str(userid), text,
                               key=f"escalation:{catheter.id}:{catheter.next_due_on}"))  # fmt: skip
    return ids


KIND_LABELS = {ReminderKind.BEFORE: "到期前提醒", ReminderKind.DUE: "当天提醒", ReminderKind.OVERDUE: "逾期提醒",
               ReminderKind.ESCALATION: "逾期上报"}  # fmt: skip
CHANNEL_LABELS = {
    Channel.INAPP: "站内消息",
    Channel.MP: "微信",
    Channel.SMS: "短信",
    Channel.WORK: "企业微信",
}


@dataclass(frozen=True)
class HistoryEntry:
    created_at: datetime
    due_on: date
    kind: str
    channel: str
    status: str  # in words


def history(
    session: Session, catheter_id: int, tz: ZoneInfo, limit: int = 50
) -> list[HistoryEntry]:
    """The catheter's reminders with their delivery status, newest first (P3, A7.4)."""
    rows = session.execute(
        select(Reminder, OutboxMessage.status, OutboxMessage.last_error)
        .outerjoin(
            OutboxMessage,
            OutboxMessage.dedupe_key == _OUTBOX_KEY,
        )
        .where(Reminder.catheter_id == catheter_id)
        .order_by(Reminder.created_at.desc(), Reminder.id.desc())
        .limit(limit)
    ).all()
    out = []
    for reminder, sent_status, error in rows:
        if reminder.status is DeliveryStatus.SENT:
            words = "已送达"
        elif reminder.status is DeliveryStatus.SKIPPED:
            words = "已跳过（被更新的提醒取代）"
        elif reminder.status is DeliveryStatus.FAILED:
            words = f"未发送：{reminder.last_error}"
        elif sent_status is DeliveryStatus.SENT:
            words = "已发送"
        elif sent_status is DeliveryStatus.FAILED:
            words = f"发送失败：{(error or '')[:60]}"
        elif sent_status is DeliveryStatus.PENDING:
            words = "发送中"
        elif reminder.not_before is not None:
            words = f"免打扰，{reminder.not_before.astimezone(tz):%m-%d %H:%M}后发送"
        else:
            words = "等待发送"
        out.append(HistoryEntry(reminder.created_at, reminder.due_on, KIND_LABELS[reminder.kind],
                                CHANNEL_LABELS.get(reminder.channel, reminder.channel.value), words))  # fmt: skip
    return out
