"""Who may see which patient (ARCHITECTURE.md, "Identity and access"), in one place.

Home-hospital nurses, doctors and admins see every patient of the hospital. An outside
clinician sees only patients whose care they registered (a placement, a maintenance or a
complication) or whose consultation they were invited to. Patients see only their own 就诊人.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.models import (
    Catheter,
    Complication,
    Consultation,
    ConsultationMember,
    MaintenanceRecord,
    Patient,
    PatientProfile,
    Report,
    Staff,
)
from bot.models.enums import ActorType, StaffRole

from . import audit


def visible_patients_clause(staff: Staff) -> ColumnElement[bool]:
    """A WHERE clause on ``Patient.id`` for the patients this staff member may see."""
    if staff.role is not StaffRole.OUTSIDE_CLINICIAN:
        return Patient.id.is_not(None)
    # aliases: the caller's query may itself select catheters or consultations
    c, m = aliased(Catheter), aliased(MaintenanceRecord)
    k, km = aliased(Consultation), aliased(ConsultationMember)
    x = aliased(Complication)
    placed = (
        select(c.id)
        .where(
            c.patient_id == Patient.id,
            or_(c.registered_by_id == staff.id, c.inserter_id == staff.id),
        )
        .correlate(Patient)
        .exists()
    )
    maintained = (
        select(m.id)
        .join(c, c.id == m.catheter_id)
        .where(c.patient_id == Patient.id, m.staff_id == staff.id)
        .correlate(Patient)
        .exists()
    )
    reported = (
        select(x.id)
        .where(x.patient_id == Patient.id, x.reported_by_id == staff.id)
        .correlate(Patient)
        .exists()
    )
    consulted = (
        select(k.id)
        .join(km, km.consultation_id == k.id)
        .where(k.patient_id == Patient.id, km.staff_id == staff.id)
        .correlate(Patient)
        .exists()
    )
    return or_(placed, maintained, reported, consulted)


def staff_may_see_patient(session: Session, staff: Staff, patient_id: int) -> bool:
    query = select(Patient.id).where(Patient.id == patient_id, visible_patients_clause(staff))
    return session.scalar(query) is not None


def account_may_see_patient(session: Session, account_id: int, patient_id: int) -> bool:
    query = select(PatientProfile.id).where(
        PatientProfile.account_id == account_id, PatientProfile.patient_id == patient_id
    )
    return session.scalar(query) is not None


class NotVisible(LookupError):
    """No such record, or not this staff member's to see. Both are answered alike, so a
    refusal never tells that a patient exists; a refusal of an existing record has written a
    "denied" audit row, which the caller commits like any other."""


def _deny(
    session: Session,
    actor: audit.Actor,
    object_type: str,
    object_id: int,
    patient_id: int,
    context: str,
    action: str,
) -> NotVisible:
    audit.record(
        session,
        actor,
        "denied",
        object_type,
        object_id,
        patient_id=patient_id,
        context=context,
        detail={"wanted": action},
    )
    return NotVisible(f"{object_type} {object_id}")


def _staff(session: Session, actor: audit.Actor) -> Staff:
    staff = session.get(Staff, actor.id) if actor.type is ActorType.STAFF else None
    if staff is None or not staff.active:
        raise NotVisible("unknown or inactive staff member")
    return staff


def staff_of(session: Session, actor: audit.Actor) -> Staff:
    """The active staff member acting; NotVisible for anyone else."""
    return _staff(session, actor)


def check_patient(
    session: Session,
    actor: audit.Actor,
    object_type: str,
    object_id: int,
    patient_id: int,
    *,
    context: str,
    action: str = "read",
) -> None:
    """Audit ``actor``'s ``action`` on a record of the patient if they may see the patient;
    NotVisible (audited as denied) otherwise: ``open_catheter``'s rule for any record."""
    staff = _staff(session, actor)
    if not staff_may_see_patient(session, staff, patient_id):
        raise _deny(session, actor, object_type, object_id, patient_id, context, action)
    audit.record(
        session, actor, action, object_type, object_id, patient_id=patient_id, context=context
    )


def open_catheter(
    session: Session, actor: audit.Actor, catheter_id: int, *, context: str, action: str = "read"
) -> Catheter:
    """The catheter (and so its patient) if ``actor`` may see it, with the audit row written
    in the caller's unit of work; ``NotVisible`` otherwise. Every staff page, chat action and
    admin view that shows a catheter opens it here."""
    catheter = session.get(Catheter, catheter_id)
    staff = _staff(session, actor)
    if catheter is None:
        raise NotVisible(f"catheter {catheter_id}")
    if not staff_may_see_patient(session, staff, catheter.patient_id):
        raise _deny(session, actor, "catheter", catheter.id, catheter.patient_id, context, action)
    audit.record(
        session,
        actor,
        action,
        "catheter",
        catheter.id,
        patient_id=catheter.patient_id,
        context=context,
    )
    return catheter


def open_patient(
    session: Session, actor: audit.Actor, patient_id: int, *, context: str, action: str = "read"
) -> Patient:
    """The patient if ``actor`` may see them, audited like ``open_catheter``."""
    patient = session.get(Patient, patient_id)
    staff = _staff(session, actor)
    if patient is None:
        raise NotVisible(f"patient {patient_id}")
    if not staff_may_see_patient(session, staff, patient_id):
        raise _deny(session, actor, "patient", patient.id, patient.id, context, action)
    audit.record(
        session, actor, action, "patient", patient.id, patient_id=patient.id, context=context
    )
    return patient


def open_report(
    session: Session, actor: audit.Actor, report_id: int, *, context: str, action: str = "read"
) -> Report:
    """The report (its photo, its values) if ``actor`` may see its patient, audited like
    ``open_catheter``."""
    report = session.get(Report, report_id)
    staff = _staff(session, actor)
    if report is None:
        raise NotVisible(f"report {report_id}")
    if not staff_may_see_patient(session, staff, report.patient_id):
        raise _deny(session, actor, "report", report.id, report.patient_id, context, action)
    audit.record(
        session, actor, action, "report", report.id, patient_id=report.patient_id, context=context
    )
    return report


def find_patients(
    session: Session, actor: audit.Actor, name: str, *, context: str, limit: int = 5
) -> list[Patient]:
    """Active patients of that name whom ``actor`` may see, each read audited (a record
    deactivated or merged in the admin web is not offered, A1.1)."""
    staff = _staff(session, actor)
    found = session.scalars(
        select(Patient)
        .where(Patient.name == name, Patient.active.is_(True), visible_patients_clause(staff))
        .limit(limit)
    ).all()
    for patient in found:
        audit.record(
            session, actor, "read", "patient", patient.id, patient_id=patient.id, context=context
        )
    return list(found)


def find_catheters(
    session: Session, actor: audit.Actor, *where: ColumnElement[bool], context: str, limit: int
) -> list[Catheter]:
    """Catheters matching ``where`` (joined to their patient) whom ``actor`` may see, newest
    placement first, each read audited."""
    staff = _staff(session, actor)
    found = session.scalars(
        select(Catheter)
        .join(Patient, Patient.id == Catheter.patient_id)
        .where(*where, visible_patients_clause(staff))
        .order_by(Catheter.placed_at.desc())
        .limit(limit)
    ).all()
    for catheter in found:
        audit.record(
            session,
            actor,
            "read",
            "catheter",
            catheter.id,
            patient_id=catheter.patient_id,
            context=context,
        )
    return list(found)
