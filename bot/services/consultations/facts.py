"""The facts of a consultation's case, found once for the group chat's card (``chat``) and the
case page (``views``), so both describe the same case in the same words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Catheter, Complication, Consultation, Institution, MaintenanceRecord
from bot.models.enums import ComplicationStatus, Sex

SEX_LABELS = {Sex.MALE: "男", Sex.FEMALE: "女", Sex.UNKNOWN: "未知"}
OPEN_COMPLICATIONS = (ComplicationStatus.OPEN, ComplicationStatus.HANDLING)


@dataclass(frozen=True)
class ComplicationLine:
    id: int
    label: str  # "静脉炎 2级"
    onset_on: date


def catheter_of(session: Session, k: Consultation) -> Catheter | None:
    """The catheter asked about: named, or the complication's, or the patient's latest."""
    if k.catheter_id:
        return session.get(Catheter, k.catheter_id)
    if k.complication_id:
        complication = session.get(Complication, k.complication_id)
        if complication:
            return session.get(Catheter, complication.catheter_id)
    return session.scalar(
        select(Catheter)
        .where(Catheter.patient_id == k.patient_id)
        .order_by(Catheter.placed_at.desc(), Catheter.id.desc())
        .limit(1)
    )


def last_maintenance(session: Session, catheter_id: int) -> MaintenanceRecord | None:
    return session.scalar(
        select(MaintenanceRecord)
        .where(MaintenanceRecord.catheter_id == catheter_id)
        .order_by(MaintenanceRecord.performed_at.desc(), MaintenanceRecord.id.desc())
        .limit(1)
    )


def institution_name(session: Session, institution_id: int | None) -> str | None:
    found = session.get(Institution, institution_id) if institution_id else None
    return found.name if found else None


def placed_where(session: Session, catheter: Catheter) -> str | None:
    return institution_name(session, catheter.institution_id) or catheter.outside_institution_name


def open_complications(session: Session, d: Dictionary, patient_id: int) -> list[ComplicationLine]:
    found = session.scalars(
        select(Complication)
        .where(Complication.patient_id == patient_id, Complication.status.in_(OPEN_COMPLICATIONS))
        .order_by(Complication.onset_on, Complication.id)
    )
    return [
        ComplicationLine(
            id=c.id,
            label=d.label("complications", c.type)
            + (f" {c.grade}级" if c.grade is not None else ""),
            onset_on=c.onset_on,
        )
        for c in found
    ]


def age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
