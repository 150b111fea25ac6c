"""The sweep itself: write the reminders due at a moment, settle those that will not be sent
now, then hand the others to delivery (``delivery.py``).

One ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per channel writes the reminders of every
catheter in place whose next due date is within the window (unique key catheter, due date,
channel, kind), so two sweeps running at once — or a sweep re-run after a crash — create each
reminder once. Bulk UPDATEs then settle what will not be sent now (replaced by a later reminder
or a maintenance, no mobile, no followed account, quiet hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, or_, select, type_coerce
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import Catheter, Patient, Reminder
from bot.models.enums import CatheterState, Channel, DeliveryStatus, ReminderKind
from bot.security.crypto import PiiCipher

from . import delivery
from .common import (
    FAILED,
    SweepResult,
    dialect,
    insert_reminders,
    is_open,
    next_channels,
    unreachable,
    update_reminders,
)

ANALYZE_AFTER = 10_000  # reminders written by one sweep
PATIENT_CHANNELS = (Channel.INAPP, Channel.MP, Channel.SMS)
REPLACED = "已被更新的提醒或维护记录取代"


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
    session: Session,
    d: Dictionary,
    cipher: PiiCipher,
    now: datetime,
    tz: ZoneInfo,
    *,
    public_base_url: str,
    reminder_template: str = "",
    reminder_api: str = "subscribe",
) -> SweepResult:
    """Create the reminders due at ``now``, settle those that will not be sent now, and write
    the in-app messages and outbox rows of the others (their ids are in the result, to enqueue
    after commit). ``reminder_api`` (``subscribe`` or ``template``) and ``reminder_template``
    choose the WeChat message sent when the 48-hour customer-service window is closed."""
    today = rules.local_date(now, tz)
    created = _create(session, d, today, now)
    if (
        sum(len(ids) for ids in created.values()) >= ANALYZE_AFTER
        and dialect(session) == "postgresql"
    ):
        # the planner's statistics do not know the rows just written: without this it picks
        # nested loops for the statements below that take seconds instead of milliseconds
        session.execute(sql_text("ANALYZE reminders"))
    # written failed just now: no followed account, no mobile
    just_failed = and_(FAILED.status == DeliveryStatus.FAILED, FAILED.created_at == now)
    for channel, ids in next_channels(session, now, just_failed).items():
        created[channel] += ids
    result = SweepResult(created=sum(len(ids) for ids in created.values()))
    _settle(session, today, now, tz)
    fresh_inapp = min(created[Channel.INAPP], default=None)
    result.delivered_inapp = delivery.deliver_inapp(
        session, d, today, now, public_base_url, fresh_inapp
    )
    fallback = delivery.WeChatFallback(reminder_api, reminder_template, public_base_url)
    delivery.deliver(session, d, today, now, result, fallback)
    return result


def _kind_for_due(due: Any, today: date) -> Any:
    """The kind a due date calls for today, in SQL: overdue after it, due on the day, before
    it otherwise (only inside the window, which the caller's WHERE guarantees)."""
    typed = Reminder.kind.type
    return case(
        (due < today, literal(ReminderKind.OVERDUE, typed)),
        (due == today, literal(ReminderKind.DUE, typed)),
        else_=literal(ReminderKind.BEFORE, typed),
    )


def _wants(dialect_name: str, channel: Channel) -> Any:
    """The patient chose ``channel`` (``patients.reminder_channels``, a JSON list)."""
    if dialect_name == "postgresql":
        return type_coerce(Patient.reminder_channels, JSONB).has_key(channel.value)
    chosen = func.json_each(Patient.reminder_channels).table_valued("value")
    return exists().select_from(chosen).where(chosen.c.value == channel.value)


def _create(
    session: Session, d: Dictionary, today: date, now: datetime
) -> dict[Channel, list[int]]:
    """One INSERT … SELECT per channel writes the missing reminders of every catheter in place
    due within the window; their ids by channel. In-app reminders are written sent (their
    messages follow in the same transaction), those that cannot be sent failed. NOT EXISTS
    leaves out the reminders written already (a sweep that finds nothing new writes nothing and
    draws no ids from the sequence); ON CONFLICT DO NOTHING guards against a concurrent sweep."""
    horizon = today + timedelta(days=d.reminder_days_before)
    kind = _kind_for_due(Catheter.next_due_on, today)
    created: dict[Channel, list[int]] = {}
    for channel in PATIENT_CHANNELS:
        rows = _missing(session, channel, kind, horizon, now)
        created[channel] = insert_reminders(session, rows)
    return created


def _missing(session: Session, channel: Channel, kind: Any, horizon: date, now: datetime) -> Any:
    """The SELECT of the reminders on ``channel`` not written yet, in ``COLUMNS`` order."""
    # a reminder that cannot be sent is written failed, with the reason (no later UPDATE)
    cannot_reach, reason = unreachable(channel, Catheter.patient_id)
    status_type = Reminder.status.type
    initial = DeliveryStatus.SENT if channel is Channel.INAPP else DeliveryStatus.PENDING
    written = exists().where(
        Reminder.catheter_id == Catheter.id,
        Reminder.due_on == Catheter.next_due_on,
        Reminder.channel == channel,
        Reminder.kind == kind,
    )
    return (
        select(
            Catheter.id,
            Catheter.patient_id,
            Catheter.next_due_on,
            kind,
            literal(channel, Reminder.channel.type),
            case(
                (cannot_reach, literal(DeliveryStatus.FAILED, status_type)),
                else_=literal(initial, status_type),
            ),
            case((cannot_reach, literal(reason)), else_=None),
            literal(now if channel is Channel.INAPP else None, Reminder.sent_at.type),
            literal(0),
            literal(now, Reminder.created_at.type),
        )
        .join(Patient, Patient.id == Catheter.patient_id)
        .where(
            Catheter.state == CatheterState.IN_PLACE,
            Catheter.next_due_on <= horizon,
            _wants(dialect(session), channel),
            ~written,
        )
        .order_by(Catheter.id)  # concurrent sweeps take the keys in the same order
    )


def _settle(session: Session, today: date, now: datetime, tz: ZoneInfo) -> None:
    """Bulk UPDATEs for the open reminders that will not be sent now: replaced (by a later
    kind, a maintenance that moved the due date, a removal), no mobile for SMS, no followed
    account for WeChat, and SMS in the patient's quiet hours (held until they end)."""
    replaced = or_(
        exists().where(
            Catheter.id == Reminder.catheter_id,
            or_(
                Catheter.state != CatheterState.IN_PLACE,
                Catheter.next_due_on.is_(None),
                Catheter.next_due_on != Reminder.due_on,
            ),
        ),
        and_(Reminder.due_on < today, Reminder.kind != ReminderKind.OVERDUE),
        and_(Reminder.due_on == today, Reminder.kind == ReminderKind.BEFORE),
    )
    update_reminders(
        session,
        and_(is_open(now), replaced),
        {"status": DeliveryStatus.SKIPPED, "last_error": REPLACED},
    )
    for channel in (Channel.SMS, Channel.MP):  # the mobile or the follower went since
        cannot_reach, reason = unreachable(channel, Reminder.patient_id)
        update_reminders(
            session,
            and_(is_open(now), Reminder.channel == channel, cannot_reach),
            {"status": DeliveryStatus.FAILED, "last_error": reason},
        )
    _hold_in_quiet_hours(session, now, tz)


def _hold_in_quiet_hours(session: Session, now: datetime, tz: ZoneInfo) -> None:
    """Open SMS reminders of patients in their quiet hours wait until those end
    (``not_before``); one UPDATE per distinct pair of quiet hours."""
    local = now.astimezone(tz)
    quiet_hours = session.execute(
        select(Patient.quiet_start, Patient.quiet_end)
        .distinct()
        .join(Reminder, Reminder.patient_id == Patient.id)
        .where(is_open(now), Reminder.channel == Channel.SMS)
    ).all()
    for start, end in quiet_hours:
        resume = in_quiet_hours(local, start, end)
        if resume is not None:
            same = exists().where(
                Patient.id == Reminder.patient_id,
                Patient.quiet_start == start,
                Patient.quiet_end == end,
            )
            update_reminders(
                session,
                and_(is_open(now), Reminder.channel == Channel.SMS, same),
                {"not_before": resume.astimezone(UTC)},
            )
