"""The clinician's due list (C3.1): overdue first, then due today, then due soon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.care.rules import DueStatus
from bot.models import Catheter, Patient
from bot.models.enums import CatheterState

from . import audit


@dataclass(frozen=True)
class DueEntry:
    catheter_id: int
    patient_id: int
    patient_name: str
    device: str
    status: DueStatus
    next_due_on: date | None
    days_overdue: int

    @property
    def status_label(self) -> str:
        return rules.STATUS_LABELS[self.status]


def due_list(
    session: Session,
    d: Dictionary,
    today: date,
    *,
    institution_id: int | None,
    actor: audit.Actor,
    limit: int = 50,
) -> list[DueEntry]:
    """Catheters in place whose maintenance is overdue, due today or due soon.

    One set-based query; the listing is a staff read of patient data, so it is audited.
    """
    horizon = today + timedelta(days=d.due_soon_days)
    query = (
        select(
            Catheter.id,
            Catheter.patient_id,
            Patient.name,
            Catheter.device_type,
            Catheter.next_due_on,
        )
        .join(Patient, Patient.id == Catheter.patient_id)
        .where(Catheter.state == CatheterState.IN_PLACE)
        .where((Catheter.next_due_on <= horizon) | Catheter.next_due_on.is_(None))
        .order_by(Catheter.next_due_on.asc().nulls_first(), Catheter.id)
        .limit(limit)
    )
    if institution_id is not None:
        query = query.where(Catheter.institution_id == institution_id)
    entries = [
        DueEntry(
            catheter_id=cid,
            patient_id=pid,
            patient_name=name,
            device=d.label("device_types", device),
            status=rules.status_on(due, today, due_soon_days=d.due_soon_days),
            next_due_on=due,
            days_overdue=rules.days_overdue(due, today),
        )
        for cid, pid, name, device, due in session.execute(query)
    ]
    entries.sort(key=lambda e: (rules.STATUS_ORDER[e.status], e.next_due_on or date.min))
    audit.record(
        session,
        actor,
        "read",
        "due_list",
        None,
        context="due_today",
        detail={"patients": [e.patient_id for e in entries], "institution_id": institution_id},
    )
    return entries
