"""Booking, cancelling and changing a maintenance-clinic appointment (P8.1): never more
bookings than capacity, a place freed exactly once, only the account's own 就诊人's future
bookings touched. Every refusal is a ``Refused`` whose message is said to the patient."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.care import rules
from bot.models import (
    Appointment,
    AppointmentSlot,
    Institution,
    Patient,
    PatientProfile,
    utcnow,
)
from bot.models.enums import AppointmentStatus

from .. import audit
from .fitting import fit_for

SERVICES = {"PICC_MAINT": "PICC维护", "PORT_MAINT": "输液港维护"}
STATUS_LABELS = {
    AppointmentStatus.BOOKED: "已预约",
    AppointmentStatus.CANCELLED: "已取消",
    AppointmentStatus.ATTENDED: "已到诊",
    AppointmentStatus.NO_SHOW: "未到诊",
}
PATIENT_CANCELLED = "患者取消"
CHANGED = "改约"


class Refused(Exception):
    """The booking, cancellation or change cannot be done; the message says why, in Chinese."""


BookingRefused = Refused  # the name the booking form has always caught


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    created: bool


@dataclass(frozen=True)
class Booking:
    """One appointment as a patient sees it."""

    id: int
    patient_id: int
    patient_name: str
    institution_id: int
    institution: str
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    service: str
    status: AppointmentStatus
    cancel_reason: str | None

    @property
    def service_label(self) -> str:
        return SERVICES.get(self.service, self.service)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def when(self, tz: ZoneInfo) -> str:
        """``12月03日(周四) 08:00-12:00`` in the hospital's time."""
        start, end = self.starts_at.astimezone(tz), self.ends_at.astimezone(tz)
        return f"{start:%m月%d日}({WEEKDAYS[start.weekday()]}) {start:%H:%M}-{end:%H:%M}"


WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of a local day and of the next one, in UTC."""
    return rules.day_start(day, tz), rules.day_start(day + timedelta(days=1), tz)


def on_day(day: date, tz: ZoneInfo) -> Any:
    """The condition on ``AppointmentSlot``: it starts on this local day."""
    start, end = day_bounds(day, tz)
    return (AppointmentSlot.starts_at >= start) & (AppointmentSlot.starts_at < end)


def bookable(now: datetime) -> Any:
    """Slots that can still be booked at ``now``: in the future, open, with room, at an active
    institution."""
    active = select(Institution.id).where(Institution.active.is_(True))
    return (
        (AppointmentSlot.starts_at > now)
        & AppointmentSlot.closed.is_(False)
        & (AppointmentSlot.booked < AppointmentSlot.capacity)
        & AppointmentSlot.institution_id.in_(active)
    )


def _for(services: Collection[str] | None) -> Any:
    """The condition on ``AppointmentSlot``: one of ``services`` (any service when None)."""
    return true() if services is None else AppointmentSlot.service.in_(list(services))


def bookable_services(session: Session, now: datetime) -> set[str]:
    """The services with at least one slot that can still be booked."""
    return set(session.scalars(select(AppointmentSlot.service).where(bookable(now)).distinct()))


def bookable_institutions(
    session: Session, now: datetime, services: Collection[str] | None = None
) -> list[Institution]:
    """Institutions with at least one future slot of ``services`` that still has room."""
    ids = select(AppointmentSlot.institution_id).where(bookable(now), _for(services))
    return list(
        session.scalars(
            select(Institution)
            .where(Institution.id.in_(ids), Institution.active.is_(True))
            .order_by(Institution.is_home.desc(), Institution.id)
        )
    )


def open_days(
    session: Session,
    institution_id: int,
    tz: ZoneInfo,
    now: datetime,
    services: Collection[str] | None = None,
) -> list[date]:
    """The local days on which ``institution_id`` has a slot of ``services`` with room."""
    starts = session.scalars(
        select(AppointmentSlot.starts_at)
        .where(AppointmentSlot.institution_id == institution_id, bookable(now), _for(services))
        .order_by(AppointmentSlot.starts_at)
    )
    return sorted({s.astimezone(tz).date() for s in starts})


def open_slots(
    session: Session,
    institution_id: int,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    services: Collection[str] | None = None,
) -> list[AppointmentSlot]:
    """The day's slots of ``services`` (any when None) that can be booked, by start."""
    return list(
        session.scalars(
            select(AppointmentSlot)
            .where(
                AppointmentSlot.institution_id == institution_id,
                on_day(day, tz),
                bookable(now),
                _for(services),
            )
            .order_by(AppointmentSlot.starts_at, AppointmentSlot.service)
        )
    )


def book(
    session: Session,
    slot_id: int,
    *,
    patient_id: int,
    account_id: int | None,
    actor: audit.Actor,
    context: str = "chat",
) -> Booked:
    """Book a place; a second booking of the same slot for the same patient is the same one,
    also when both come at once (a double tap): one row, one place. Refused when the slot is
    full, closed, past, at an institution no longer active or the maintenance of a device the
    patient does not have (nothing written then)."""
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None:
        raise Refused("没有这个时段，请重新选择。")
    place = session.get(Institution, slot.institution_id)
    if place is None or not place.active:
        raise Refused("该机构已暂停预约，请选择其他机构。")
    if unfit := fit_for(session, patient_id).refusal(slot.service):
        raise Refused(unfit)
    existing = session.scalar(
        select(Appointment).where(
            Appointment.slot_id == slot_id, Appointment.patient_id == patient_id
        )
    )
    if existing is not None:
        appointment = _book_again(session, existing, account_id)
        if appointment is None:
            return Booked(existing, False)
    else:
        inserted = _book_new(session, slot_id, patient_id, account_id)
        if isinstance(inserted, Booked):
            return inserted
        appointment = inserted
    audit.record(
        session,
        actor,
        "create",
        "appointment",
        appointment.id,
        patient_id=patient_id,
        context=context,
    )
    return Booked(appointment, True)


def _take_place(session: Session, slot_id: int) -> None:
    """One conditional UPDATE takes the place or fails: no overbooking under concurrency."""
    taken = rowcount(
        session.execute(
            update(AppointmentSlot)
            .where(AppointmentSlot.id == slot_id, bookable(utcnow()))
            .values(booked=AppointmentSlot.booked + 1)
        )
    )
    if not taken:
        raise Refused("该时段已约满或已停诊，请选择其他时段。")


def _book_again(
    session: Session, existing: Appointment, account_id: int | None
) -> Appointment | None:
    """A booking of this slot cancelled before, booked again: the row is claimed from
    CANCELLED in one conditional UPDATE, and only the request that claimed it takes a place.
    None when it is booked already (a concurrent request claimed it). A new booking round:
    ``created_at`` is the time it was booked again, the reminder not yet sent."""
    with session.begin_nested():  # a full slot undoes the claim
        claimed = rowcount(
            session.execute(
                update(Appointment)
                .where(
                    Appointment.id == existing.id,
                    Appointment.status == AppointmentStatus.CANCELLED,
                )
                .values(
                    status=AppointmentStatus.BOOKED,
                    account_id=account_id,
                    created_at=utcnow(),
                    cancelled_at=None,
                    cancel_reason=None,
                    reminded_at=None,
                    replaces_id=None,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if claimed:
            _take_place(session, existing.slot_id)
    session.refresh(existing)
    if claimed:
        return existing
    if existing.status is AppointmentStatus.BOOKED:
        return None
    raise Refused("该时段已过，不能再预约，请选择其他时段。")  # attended or missed


def _book_new(
    session: Session, slot_id: int, patient_id: int, account_id: int | None
) -> Appointment | Booked:
    """A first booking of this slot for this patient: the place and the row in one savepoint.
    When a concurrent request inserted the row first (the unique slot + patient), both are
    undone and its booking is the one: ``Booked(..., False)``."""
    try:
        with session.begin_nested():
            _take_place(session, slot_id)
            appointment = Appointment(slot_id=slot_id, patient_id=patient_id, account_id=account_id)
            session.add(appointment)
            session.flush()
    except IntegrityError:
        other = session.scalar(
            select(Appointment).where(
                Appointment.slot_id == slot_id, Appointment.patient_id == patient_id
            )
        )
        if other is None or other.status is not AppointmentStatus.BOOKED:
            raise Refused("预约未成功，请稍后重试。") from None
        return Booked(other, False)
    return appointment


def account_patients(session: Session, account_id: int) -> list[int]:
    """The 就诊人 (patient ids) of an account."""
    return list(
        session.scalars(
            select(PatientProfile.patient_id).where(PatientProfile.account_id == account_id)
        )
    )


def bookings(
    session: Session,
    patient_ids: Collection[int],
    now: datetime,
    *,
    upcoming: bool = True,
    limit: int = 20,
) -> list[Booking]:
    """The booked appointments not yet begun (soonest first) or, with ``upcoming=False``, the
    others — past, cancelled, attended — newest first."""
    if not patient_ids:
        return []
    query = (
        select(Appointment, AppointmentSlot, Institution.name, Patient.name)
        .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
        .join(Institution, Institution.id == AppointmentSlot.institution_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.patient_id.in_(patient_ids))
    )
    later = (Appointment.status == AppointmentStatus.BOOKED) & (AppointmentSlot.starts_at > now)
    if upcoming:
        query = query.where(later).order_by(AppointmentSlot.starts_at, Appointment.id)
    else:
        query = query.where(~later).order_by(AppointmentSlot.starts_at.desc(), Appointment.id)
    return [
        Booking(
            id=a.id,
            patient_id=a.patient_id,
            patient_name=patient_name,
            institution_id=slot.institution_id,
            institution=place,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            service=slot.service,
            status=a.status,
            cancel_reason=a.cancel_reason,
        )
        for a, slot, place, patient_name in session.execute(query.limit(limit))
    ]


def upcoming(session: Session, account_id: int, now: datetime) -> list[Booking]:
    """The account's 就诊人's bookings not yet begun, soonest first."""
    return bookings(session, account_patients(session, account_id), now)


def _own(session: Session, appointment_id: int, account_id: int, now: datetime) -> Appointment:
    """The account's booking that can still be cancelled or changed; Refused otherwise. A
    booking of someone else is answered as not found, so nothing is told about it."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id not in account_patients(session, account_id):
        raise Refused("没有找到这个预约。")
    if appointment.status is AppointmentStatus.CANCELLED:
        raise Refused("这个预约已经取消了。")
    if appointment.status is not AppointmentStatus.BOOKED:
        raise Refused("这个预约已就诊或已过期，不能取消或改约。")
    if appointment.slot.starts_at <= now:
        raise Refused("预约时间已到或已过，不能取消或改约；如有变动请致电门诊。")
    return appointment


def release(
    session: Session, appointment_id: int, *, reason: str, now: datetime
) -> Appointment | None:
    """Cancel a booking and free its place, exactly once: the status moves from BOOKED in one
    conditional UPDATE and only the update that moved it gives the place back. None when it
    was not booked any more (a concurrent cancel)."""
    moved = rowcount(
        session.execute(
            update(Appointment)
            .where(Appointment.id == appointment_id, Appointment.status == AppointmentStatus.BOOKED)
            .values(status=AppointmentStatus.CANCELLED, cancelled_at=now, cancel_reason=reason)
            .execution_options(synchronize_session=False)
        )
    )
    if not moved:
        return None
    appointment = session.get(Appointment, appointment_id)
    assert appointment is not None
    session.refresh(appointment)
    session.execute(
        update(AppointmentSlot)
        .where(AppointmentSlot.id == appointment.slot_id, AppointmentSlot.booked > 0)
        .values(booked=AppointmentSlot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    return appointment


def cancel(
    session: Session,
    appointment_id: int,
    *,
    account_id: int,
    actor: audit.Actor,
    now: datetime,
    context: str = "chat",
) -> Appointment:
    """The patient cancels a booking of one of their 就诊人 before it starts; the place is
    free again. Refused (nothing written) for a foreign, past or already cancelled one."""
    appointment = _own(session, appointment_id, account_id, now)
    if release(session, appointment.id, reason=PATIENT_CANCELLED, now=now) is None:
        raise Refused("这个预约已经取消了。")
    audit.record(
        session,
        actor,
        "cancel",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        context=context,
    )
    return appointment


def change(
    session: Session,
    appointment_id: int,
    slot_id: int,
    *,
    account_id: int,
    actor: audit.Actor,
    now: datetime,
    context: str = "h5",
) -> Appointment:
    """Move a booking to another slot in one step: the new place is taken first, then the old
    one freed; the new booking points at the old (``replaces_id``). When the new slot is full
    (or anything else is refused) nothing changes."""
    old = _own(session, appointment_id, account_id, now)
    if old.slot_id == slot_id:
        raise Refused("新时段与原预约相同。")
    with session.begin_nested():  # a refusal after the new place was taken undoes it
        result = book(
            session,
            slot_id,
            patient_id=old.patient_id,
            account_id=account_id,
            actor=actor,
            context=context,
        )
        if not result.created:
            raise Refused("该就诊人已预约了这个时段。")
        if release(session, old.id, reason=CHANGED, now=now) is None:
            raise Refused("原预约已经取消了。")
        result.appointment.replaces_id = old.id
        session.flush()
    audit.record(
        session,
        actor,
        "change",
        "appointment",
        old.id,
        patient_id=old.patient_id,
        context=context,
        detail={"to": result.appointment.id},
    )
    return result.appointment


def rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount
