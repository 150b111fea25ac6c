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
    Staff,
)
from bot.models.enums import StaffRole


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
