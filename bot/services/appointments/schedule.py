"""Clinic schedules (P8.1): the slots of the coming weeks generated from the weekly sessions
(``clinic_sessions``) minus closed days, and closures. Generation only inserts what is missing
(the unique institution + service + start), so it can run any number of times; a session's
edit reaches its future slots (``apply_session``: capacity, never below what is booked, and end
time). A closure closes the day's slots not yet begun and cancels their bookings, telling each
patient; on a day already under way the slots that have begun are left to the clinic, whose
patients may have been seen already."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select, update
from sqlalchemy.orm import Session

from bot.models import (
    Appointment,
    AppointmentSlot,
    ClinicClosure,
    ClinicSession,
    Institution,
)
from bot.models.enums import AppointmentStatus

from .. import audit
from ..reminders.common import insert_into
from .booking import Refused, on_day, release, rowcount
from .notices import Notice, describe, tell

HORIZON_DAYS = 28


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz).astimezone(UTC)


def _closed_days(session: Session, first: date, last: date) -> set[tuple[int, date]]:
    rows = session.execute(
        select(ClinicClosure.institution_id, ClinicClosure.day).where(
            ClinicClosure.day >= first, ClinicClosure.day <= last
        )
    )
    return {(i, d) for i, d in rows}


def generate(session: Session, tz: ZoneInfo, first: date, last: date, now: datetime) -> int:
    """Insert the missing future slots of every active session from ``first`` to ``last``
    (local days), leaving out closed days; the number inserted."""
    closed = _closed_days(session, first, last)
    rows = [
        {
            "institution_id": s.institution_id,
            "department_id": s.department_id,
            "service": s.service,
            "starts_at": _at(day, s.starts_at, tz),
            "ends_at": _at(day, s.ends_at, tz),
            "capacity": s.capacity,
            "booked": 0,
            "closed": False,
        }
        for s in session.scalars(select(ClinicSession).where(ClinicSession.active.is_(True)))
        for day in _days(first, last)
        if day.weekday() == s.weekday
        and (s.institution_id, day) not in closed
        and _at(day, s.starts_at, tz) > now
    ]
    if not rows:
        return 0
    table = AppointmentSlot.__table__
    stmt = (
        insert_into(session, table)
        .on_conflict_do_nothing(index_elements=["institution_id", "service", "starts_at"])
        .returning(table.c.id)
    )
    return len(session.execute(stmt, rows).all())


def extend(session: Session, tz: ZoneInfo, now: datetime, days: int = HORIZON_DAYS) -> int:
    """The hourly run: slots from today for ``days`` days."""
    today = now.astimezone(tz).date()
    return generate(session, tz, today, today + timedelta(days=days - 1), now)


def _session_starts(
    session: Session, cs: ClinicSession, tz: ZoneInfo, now: datetime
) -> dict[datetime, datetime]:
    """The starts of the slots ``cs`` may have generated from today on, each with its end."""
    last = session.scalar(
        select(func.max(AppointmentSlot.starts_at)).where(
            AppointmentSlot.institution_id == cs.institution_id
        )
    )
    if last is None:
        return {}
    today = now.astimezone(tz).date()
    return {
        _at(day, cs.starts_at, tz): _at(day, cs.ends_at, tz)
        for day in _days(today, last.astimezone(tz).date())
        if day.weekday() == cs.weekday
    }


def _session_slots(
    session: Session, cs: ClinicSession, tz: ZoneInfo, now: datetime, **changes: object
) -> int:
    """Apply ``changes`` to the future open slots that ``cs`` generated (same institution,
    service, weekday and start time); the number changed. ``ends_at=True`` sets each slot's
    end from the session's end time."""
    starts = _session_starts(session, cs, tz, now)
    if not starts:
        return 0
    if changes.pop("ends_at", False):
        ends: ColumnElement[datetime] = case(starts, value=AppointmentSlot.starts_at)
        changes["ends_at"] = ends
    return rowcount(
        session.execute(
            update(AppointmentSlot)
            .where(
                AppointmentSlot.institution_id == cs.institution_id,
                AppointmentSlot.service == cs.service,
                AppointmentSlot.starts_at.in_(list(starts)),
                AppointmentSlot.starts_at > now,
                AppointmentSlot.closed.is_(False),
            )
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
    )


def apply_session(session: Session, cs: ClinicSession, tz: ZoneInfo, now: datetime) -> int:
    """After a session was created or edited: its future slots take its capacity (never below
    what is booked; none new for a deactivated one) and its end time, and missing ones are
    generated."""
    if not cs.active:
        return retire_session(session, cs, tz, now)
    capacity = case(
        (AppointmentSlot.booked > cs.capacity, AppointmentSlot.booked), else_=cs.capacity
    )
    changed = _session_slots(session, cs, tz, now, capacity=capacity, ends_at=True)
    return changed + extend(session, tz, now)


def retire_session(session: Session, cs: ClinicSession, tz: ZoneInfo, now: datetime) -> int:
    """A session deactivated or moved: its future slots take no new bookings (capacity down to
    what is booked); the bookings made stay, for the clinic to keep or close."""
    return _session_slots(session, cs, tz, now, capacity=AppointmentSlot.booked)


def set_capacity(session: Session, slot_id: int, capacity: int) -> AppointmentSlot:
    """One slot's capacity, never below what is booked (``Refused`` says so)."""
    if capacity < 0:
        raise Refused("名额不能为负数。")
    changed = rowcount(
        session.execute(
            update(AppointmentSlot)
            .where(AppointmentSlot.id == slot_id, AppointmentSlot.booked <= capacity)
            .values(capacity=capacity)
            .execution_options(synchronize_session=False)
        )
    )
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None:
        raise Refused("没有这个时段。")
    session.refresh(slot)
    if not changed:
        raise Refused(f"名额不能少于已预约人数（{slot.booked}人）。")
    return slot


def _closing(institution_id: int, day: date, tz: ZoneInfo, now: datetime) -> tuple[Any, ...]:
    """The conditions on ``AppointmentSlot`` of the slots a closure of one clinic's local day
    closes: those not yet begun (on today, the rest of the day)."""
    return (
        AppointmentSlot.institution_id == institution_id,
        on_day(day, tz),
        AppointmentSlot.starts_at > now,
    )


def closure_preview(
    session: Session, institution_id: int, day: date, tz: ZoneInfo, now: datetime
) -> int:
    """How many bookings closing the clinic that day would cancel (those not yet begun)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Appointment)
            .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
            .where(
                *_closing(institution_id, day, tz, now),
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
        or 0
    )


def close_day(
    session: Session,
    institution_id: int,
    day: date,
    reason: str,
    *,
    actor: audit.Actor,
    tz: ZoneInfo,
    now: datetime,
    base_url: str,
) -> tuple[ClinicClosure, list[int]]:
    """Close a clinic for a day: the closure row, the day's slots not yet begun closed, each
    booking on them cancelled with the reason and its patient told (in-app and WeChat); the
    slots of today that have begun stay as they are (their patients may have been seen). The
    closure and the outbox ids, to enqueue after commit. A day closed already keeps its first
    closure."""
    reason = reason.strip()[:120]
    if not reason:
        raise Refused("请填写停诊原因。")
    if day < now.astimezone(tz).date():
        raise Refused("不能为已过去的日期设置停诊。")
    existing = session.scalar(
        select(ClinicClosure).where(
            ClinicClosure.institution_id == institution_id, ClinicClosure.day == day
        )
    )
    if existing is not None:
        raise Refused(f"{day:%m月%d日}已设置停诊（{existing.reason}）。")
    closure = ClinicClosure(
        institution_id=institution_id,
        day=day,
        reason=reason,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(closure)
    session.flush()
    where = _closing(institution_id, day, tz, now)
    session.execute(
        update(AppointmentSlot)
        .where(*where)
        .values(closed=True, closed_reason=reason)
        .execution_options(synchronize_session=False)
    )
    place = session.get(Institution, institution_id)
    booked = session.scalars(
        select(Appointment.id)
        .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
        .where(*where, Appointment.status == AppointmentStatus.BOOKED)
        .order_by(Appointment.id)
    ).all()
    outbox: list[int] = []
    for appointment_id in booked:
        appointment = release(session, appointment_id, reason=f"停诊：{reason}", now=now)
        if appointment is None:
            continue
        notice = Notice(
            "门诊停诊，预约已取消",
            f"您预约的{describe(appointment.slot, place.name if place else '', tz)}"
            f"因“{reason}”停诊，预约已为您取消。请在“我的预约”中重新预约其他时间。",
        )
        outbox += tell(
            session, appointment, notice, key="closed", link=f"{base_url}/h5/appointments"
        )
    audit.record(
        session,
        actor,
        "create",
        "clinic_closure",
        closure.id,
        context="admin",
        detail={"day": day.isoformat(), "cancelled": len(booked), "reason": reason},
    )
    return closure, outbox


def reopen_day(
    session: Session, closure_id: int, *, actor: audit.Actor, tz: ZoneInfo, now: datetime
) -> ClinicClosure:
    """Withdraw a closure set by mistake or no longer needed: the row goes, the day's slots it
    closed that have not begun open again, and the slots never generated because of it are
    generated. Bookings it cancelled stay cancelled — their patients were told and may have
    booked elsewhere; they can book again. A closure of a past day stays (it is history)."""
    closure = session.get(ClinicClosure, closure_id)
    if closure is None:
        raise Refused("没有找到这个停诊日。")
    if closure.day < now.astimezone(tz).date():
        raise Refused("已过去的停诊日不能撤销。")
    session.execute(
        update(AppointmentSlot)
        .where(*_closing(closure.institution_id, closure.day, tz, now), AppointmentSlot.closed)
        .values(closed=False, closed_reason=None)
        .execution_options(synchronize_session=False)
    )
    detail = {"day": closure.day.isoformat(), "reason": closure.reason}
    session.delete(closure)
    session.flush()
    if closure.day < now.astimezone(tz).date() + timedelta(days=HORIZON_DAYS):
        generate(session, tz, closure.day, closure.day, now)
    audit.record(
        session, actor, "delete", "clinic_closure", closure_id, context="admin", detail=detail
    )
    return closure
