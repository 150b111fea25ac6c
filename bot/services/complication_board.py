"""The live tracking board of open complications (A7.2): what the vascular-access team sees.

``board`` reads; it audits nothing, because the page that shows it audits each complication
once per page load (``audit_shown``) and each one arriving later once, when it first appears.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    Department,
    Patient,
    Staff,
)
from bot.security.masking import mask_name

from . import audit
from .complication_alerts import OPEN, is_alarming

RECENT = timedelta(hours=24)  # reported this recently: highlighted
STATUS_LABELS = {OPEN[0]: "待处理", OPEN[1]: "处理中"}


@dataclass(frozen=True)
class LastStep:
    action: str
    staff: str | None
    at: datetime


@dataclass(frozen=True)
class BoardEntry:
    """One open complication as the board shows it (the patient's name masked)."""

    id: int
    patient_id: int
    patient: str
    device: str
    type_label: str
    grade: int | None
    alert: bool  # grade >= 2 or an alert type (CRBSI, thrombosis): listed first
    status: str
    reported_at: datetime
    days_open: int
    last_step: LastStep | None
    responsible: str | None
    department: str | None
    photo_ids: tuple[int, ...]
    recent: bool  # reported in the last 24 hours
    arrived: bool  # reported after the caller's cursor


def cursor(session: Session) -> int:
    """The newest complication's id: a later report has a higher one."""
    return session.scalar(select(func.max(Complication.id))) or 0


def board(
    session: Session, d: Dictionary, now: datetime, *, after: int | None = None
) -> list[BoardEntry]:
    """Open complications, most urgent first: alarming ones before the rest, then the longest
    open (the oldest report). ``arrived`` marks those with an id above ``after``."""
    rows = session.execute(
        select(Complication, Catheter, Patient.name)
        .join(Catheter, Catheter.id == Complication.catheter_id)
        .join(Patient, Patient.id == Complication.patient_id)
        .where(Complication.status.in_(OPEN))
    ).all()
    ids = [c.id for c, _, _ in rows]
    photos = _photos(session, ids)
    steps = _last_steps(session, ids)
    responsible = {c.id: c.responsible_staff_id or k.responsible_staff_id for c, k, _ in rows}
    people = _names(session, Staff, [*responsible.values(), *(s.staff_id for s in steps.values())])
    departments = _names(
        session, Department, [c.department_id or k.department_id for c, k, _ in rows]
    )
    entries = []
    for c, catheter, name in rows:
        step = steps.get(c.id)
        entries.append(
            BoardEntry(
                id=c.id,
                patient_id=c.patient_id,
                patient=mask_name(name),
                device=d.label("device_types", catheter.device_type),
                type_label=d.label("complications", c.type),
                grade=c.grade,
                alert=is_alarming(d, c),
                status=STATUS_LABELS.get(c.status, ""),
                reported_at=c.reported_at,
                days_open=max(0, (now - c.reported_at).days),
                last_step=_step(step, people) if step else None,
                responsible=people.get(responsible[c.id] or 0),
                department=departments.get(c.department_id or catheter.department_id or 0),
                photo_ids=photos.get(c.id, ()),
                recent=now - c.reported_at < RECENT,
                arrived=after is not None and c.id > after,
            )
        )
    entries.sort(key=lambda e: (not e.alert, e.reported_at, e.id))
    return entries


def audit_shown(
    session: Session, actor: audit.Actor, entries: Iterable[BoardEntry], context: str
) -> None:
    """One "read" row per complication shown (its patient named), in the caller's unit of
    work."""
    for entry in entries:
        audit.record(
            session,
            actor,
            "read",
            "complication",
            entry.id,
            patient_id=entry.patient_id,
            context=context,
        )


def _step(step: ComplicationStep, people: dict[int, str]) -> LastStep:
    return LastStep(step.action, people.get(step.staff_id or 0), step.at)


def _photos(session: Session, ids: list[int]) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = {}
    for complication_id, photo_id in session.execute(
        select(ComplicationPhoto.complication_id, ComplicationPhoto.id)
        .where(ComplicationPhoto.complication_id.in_(ids))
        .order_by(ComplicationPhoto.id)
    ):
        found.setdefault(complication_id, []).append(photo_id)
    return {k: tuple(v) for k, v in found.items()}


def _last_steps(session: Session, ids: list[int]) -> dict[int, ComplicationStep]:
    latest: dict[int, ComplicationStep] = {}
    for step in session.scalars(
        select(ComplicationStep)
        .where(ComplicationStep.complication_id.in_(ids))
        .order_by(ComplicationStep.at, ComplicationStep.id)
    ):
        latest[step.complication_id] = step
    return latest


def _names(
    session: Session, model: type[Staff] | type[Department], ids: Iterable[int | None]
) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {row_id: name for row_id, name in rows}
