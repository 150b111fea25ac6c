"""The clinic's side of appointments (P8.1): the day's bookings of one clinic, and marking each
arrived or not. Only the clinic's own nurses and doctors and administrators see them; the list
is a staff read of patient data (audited), a refusal is audited as denied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.rules import local_date
from bot.models import Appointment, AppointmentSlot, ClinicSession, Institution, Patient, Staff
from bot.models.enums import AppointmentStatus, StaffRole

from .. import access, audit
from .booking import SERVICES, STATUS_LABELS, Refused, on_day

MARKS = {"attended": AppointmentStatus.ATTENDED, "no_show": AppointmentStatus.NO_SHOW}
CLINIC_ROLES = {StaffRole.NURSE, StaffRole.DOCTOR}


@dataclass(frozen=True)
class DayEntry:
    id: int
    patient_id: int
    patient_name: str
    starts_at: datetime
    ends_at: datetime
    service: str
    status: AppointmentStatus

    @property
    def service_label(self) -> str:
        return SERVICES.get(self.service, self.service)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def may_run(staff: Staff, institution_id: int) -> bool:
    """Administrators, and the nurses and doctors of the clinic's own institution."""
    if staff.role is StaffRole.ADMIN:
        return True
    return staff.role in CLINIC_ROLES and staff.institution_id == institution_id


def clinics_for(session: Session, actor: audit.Actor) -> list[Institution]:
    """The institutions with a clinic (a schedule or slots) this staff member may run."""
    staff = access.staff_of(session, actor)
    with_clinic = select(ClinicSession.institution_id).union(select(AppointmentSlot.institution_id))
    places = session.scalars(
        select(Institution)
        .where(Institution.id.in_(with_clinic))
        .order_by(Institution.is_home.desc(), Institution.id)
    )
    return [p for p in places if may_run(staff, p.id)]


def _check(session: Session, actor: audit.Actor, institution_id: int, context: str) -> None:
    staff = access.staff_of(session, actor)
    if not may_run(staff, institution_id):
        audit.record(
            session,
            actor,
            "denied",
            "clinic_day",
            institution_id,
            context=context,
            detail={"wanted": "read"},
        )
        raise access.NotVisible(f"clinic {institution_id}")


def day_list(
    session: Session,
    institution_id: int,
    day: date,
    tz: ZoneInfo,
    *,
    actor: audit.Actor,
    context: str = "h5",
) -> list[DayEntry]:
    """The bookings of one clinic on one local day (cancelled ones left out), by time; the
    read is audited with the patients shown. NotVisible for staff who may not run it."""
    _check(session, actor, institution_id, context)
    rows = session.execute(
        select(Appointment, AppointmentSlot, Patient.name)
        .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            AppointmentSlot.institution_id == institution_id,
            on_day(day, tz),
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .order_by(AppointmentSlot.starts_at, AppointmentSlot.service, Appointment.id)
    )
    entries = [
        DayEntry(a.id, a.patient_id, name, slot.starts_at, slot.ends_at, slot.service, a.status)
        for a, slot, name in rows
    ]
    audit.record(
        session,
        actor,
        "read",
        "clinic_day",
        institution_id,
        context=context,
        detail={"day": day.isoformat(), "patients": [e.patient_id for e in entries]},
    )
    return entries


def mark(
    session: Session,
    appointment_id: int,
    outcome: str,
    *,
    actor: audit.Actor,
    now: datetime,
    tz: ZoneInfo,
    context: str = "h5",
) -> Appointment:
    """Mark a booking arrived (``attended``) or not (``no_show``), on its day or later; a
    mark can be corrected. Refused for a cancelled booking, a future day or an unknown
    outcome; NotVisible for staff who may not run the clinic. Audited."""
    status = MARKS.get(outcome)
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise access.NotVisible(f"appointment {appointment_id}")
    _check(session, actor, appointment.slot.institution_id, context)
    if status is None:
        raise Refused("未知的到诊状态。")
    if appointment.status is AppointmentStatus.CANCELLED:
        raise Refused("该预约已取消，不能标记到诊。")
    if local_date(appointment.slot.starts_at, tz) > local_date(now, tz):
        raise Refused("只能在预约当天或之后标记到诊。")
    appointment.status = status
    appointment.marked_at = now
    appointment.marked_by_id = actor.id
    audit.record(
        session,
        actor,
        outcome,
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        context=context,
    )
    return appointment
