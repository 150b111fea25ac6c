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
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, String, and_, literal, select
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
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows: list[dict[str, object]] = []

    def flush() -> None:
        if rows:
            stmt = (
                insert(Reminder)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["catheter_id", "due_on", "channel", "kind"])
            )
            result.created += cast(CursorResult[Any], session.execute(stmt)).rowcount or 0
            rows.clear()

    for catheter_id, patient_id, next_due, channels in session.execute(query):
        kind = kind_for(d, next_due, today)
        if kind is None:
            continue
        wanted = [Channel(c) for c in (channels or []) if c in {x.value for x in PATIENT_CHANNELS}]
        for channel in wanted:
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
    """Every pending reminder without its outbox row gets one (also after a crash)."""
    pending = session.scalars(
        select(Reminder)
        .outerjoin(
            OutboxMessage,
            OutboxMessage.dedupe_key == literal("reminder:") + cast_sql(Reminder.id, String),
        )
        .where(
            Reminder.status == DeliveryStatus.PENDING,
            OutboxMessage.id.is_(None),
            (Reminder.not_before.is_(None)) | (Reminder.not_before <= now),
        )
        .order_by(Reminder.id)
    ).all()
    today = rules.local_date(now, tz)
    order = [ReminderKind.BEFORE, ReminderKind.DUE, ReminderKind.OVERDUE]
    for reminder in pending:
        catheter = session.get(Catheter, reminder.catheter_id)
        patient = session.get(Patient, reminder.patient_id)
        assert catheter is not None and patient is not None
        current = kind_for(d, reminder.due_on, today)
        stale = (
            catheter.next_due_on != reminder.due_on or catheter.state is not CatheterState.IN_PLACE
        )
        if stale or (current in order and order.index(current) > order.index(reminder.kind)):
            # held back (quiet hours) until a later reminder, or a new maintenance, replaced it
            reminder.status = DeliveryStatus.SKIPPED
            reminder.last_error = "已被更新的提醒或维护记录取代"
            continue
        device = d.label("device_types", catheter.device_type)
        overdue = rules.days_overdue(reminder.due_on, rules.local_date(now, tz))
        title, body = _words(reminder.kind, patient.name, device, reminder.due_on, overdue)
        if reminder.channel is Channel.INAPP:
            session.add(InAppMessage(patient_id=patient.id, reminder_id=reminder.id, kind="reminder",
                                     title=title, body=body, link=f"{public_base_url}/h5/home"))  # fmt: skip
            reminder.status = DeliveryStatus.SENT
            reminder.sent_at = now
            result.delivered_inapp += 1
        elif reminder.channel is Channel.SMS:
            phone = (
                cipher.decrypt(patient.phone_enc, context="patient.phone")
                if patient.phone_enc
                else None
            )
            if not phone:
                _skip(reminder, "没有手机号")
                continue
            local = now.astimezone(tz)
            if (
                resume := in_quiet_hours(local, patient.quiet_start, patient.quiet_end)
            ) is not None:
                reminder.not_before = resume.astimezone(UTC)
                continue
            template = (
                "reminder_overdue" if reminder.kind is ReminderKind.OVERDUE else "reminder_due"
            )
            params = [
                patient.name,
                device,
                str(overdue) if overdue else f"{reminder.due_on:%m月%d日}",
            ]
            result.outbox_ids.append(
                notify.sms(session, cipher, phone, template, params, key=f"reminder:{reminder.id}")
            )
        elif reminder.channel is Channel.MP:
            openids = session.scalars(
                select(PatientAccount.openid)
                .join(PatientProfile, PatientProfile.account_id == PatientAccount.id)
                .where(PatientProfile.patient_id == patient.id, PatientAccount.subscribed.is_(True))
                .order_by(PatientAccount.id)
            ).all()
            if not openids:
                _skip(reminder, "没有关注公众号的绑定账号")
                continue
            # one row per reminder; the first account is its recipient (family members who also
            # follow see the in-app message)
            payload = {"msgtype": "text", "text": {"content": f"{title}\n{body}"},
                       "_fallback": _subscribe(reminder_template, device, reminder.due_on, title, public_base_url)}  # fmt: skip
            result.outbox_ids.append(
                notify.payload(
                    session, Channel.MP, openids[0], payload, key=f"reminder:{reminder.id}"
                )
            )
    session.flush()


def _skip(reminder: Reminder, why: str) -> None:
    reminder.status = DeliveryStatus.FAILED
    reminder.last_error = why


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
