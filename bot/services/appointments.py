"""Booking a maintenance-clinic appointment (P8.1): never more bookings than capacity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bot.models import Appointment, AppointmentSlot, Institution, utcnow
from bot.models.enums import AppointmentStatus

from . import audit


class BookingRefused(Exception):
    """The slot cannot be booked; the message says why, in Chinese."""


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    created: bool


def bookable_institutions(session: Session, now: datetime) -> list[Institution]:
    """Institutions with at least one future slot that still has room."""
    ids = select(AppointmentSlot.institution_id).where(
        AppointmentSlot.starts_at > now, AppointmentSlot.booked < AppointmentSlot.capacity
    )
    return list(
        session.scalars(
            select(Institution)
            .where(Institution.id.in_(ids), Institution.active.is_(True))
            .order_by(Institution.is_home.desc(), Institution.id)
        )
    )


def open_slots(
    session: Session, institution_id: int, day: date, tz: ZoneInfo, now: datetime
) -> list[AppointmentSlot]:
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = start + timedelta(days=1)
    return list(
        session.scalars(
            select(AppointmentSlot)
            .where(
                AppointmentSlot.institution_id == institution_id,
                AppointmentSlot.starts_at >= max(start, now),
                AppointmentSlot.starts_at < end,
                AppointmentSlot.booked < AppointmentSlot.capacity,
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
) -> Booked:
    """Book a place; a second booking of the same slot for the same patient is the same one."""
    existing = session.scalar(
        select(Appointment).where(
            Appointment.slot_id == slot_id, Appointment.patient_id == patient_id
        )
    )
    if existing is not None and existing.status is AppointmentStatus.BOOKED:
        return Booked(existing, False)
    # One conditional UPDATE takes the place or fails: no overbooking under concurrency.
    taken = cast(
        CursorResult[Any],
        session.execute(
            update(AppointmentSlot)
            .where(
                AppointmentSlot.id == slot_id,
                AppointmentSlot.booked < AppointmentSlot.capacity,
                AppointmentSlot.starts_at > utcnow(),
            )
            .values(booked=AppointmentSlot.booked + 1)
        ),
    ).rowcount
    if not taken:
        raise BookingRefused("该时段已约满或已过期，请选择其他时段。")
    if existing is not None:  # booked before and cancelled: book again
        existing.status = AppointmentStatus.BOOKED
        existing.cancelled_at = None
        appointment = existing
    else:
        appointment = Appointment(slot_id=slot_id, patient_id=patient_id, account_id=account_id)
        session.add(appointment)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "appointment",
        appointment.id,
        patient_id=patient_id,
        context="chat",
    )
    return Booked(appointment, True)
