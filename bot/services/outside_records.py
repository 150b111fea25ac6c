"""Records from other hospitals (外院记录, C4.1, C4.2): what institutions other than this
hospital registered for a patient — placements (placed there, or brought in from there),
maintenance, complications, reports and removals — newest first, and the patients who have
such records.

A record is "outside" when its institution (its own, else that of the staff member who entered
it) is not the home hospital; a placement brought in (院外带入) is outside too, and a report
with the source "outside". ``outside_ids`` is that rule in SQL, the only copy: the trace marks
its entries with it. Reads are access-checked (``access.visible_patients_clause``) and audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    Institution,
    MaintenanceRecord,
    Patient,
    Removal,
    Report,
    Staff,
)
from bot.models.enums import ActorType, PlacementSource, ReportSource

from . import access, audit
from . import dictionary as dictionary_service
from . import trace_words as words
from .reports import HIDDEN

TZ = ZoneInfo("Asia/Shanghai")
KINDS = ("placement", "maintenance", "complication", "report", "removal")
KIND_LABELS = {
    "placement": "置管",
    "maintenance": "维护",
    "complication": "并发症",
    "report": "报告",
    "removal": "拔管",
}


@dataclass(frozen=True)
class OutsideRecord:
    """One record another institution registered, as a line of the list."""

    kind: str  # one of KINDS
    kind_label: str  # 置管 / 维护 / 并发症 / 报告 / 拔管
    record_id: int
    patient_id: int
    catheter_id: int | None
    at: datetime  # UTC; for a date-only fact, see ``trace_words.on_day``
    on: date  # the local date
    institution: str
    person: str
    summary: str
    source_label: str  # 外院 / 患者上传
    target: str  # the staff H5 page that shows the record


@dataclass(frozen=True)
class OutsidePatient:
    """A patient with records from other institutions."""

    patient_id: int
    name: str
    hospital_patient_id: str | None
    latest_on: date  # local date of the newest outside record
    counts: dict[str, int] = field(default_factory=dict)  # kind -> how many

    @property
    def counts_text(self) -> str:
        """置管1 · 维护3 …, in the order of KINDS."""
        return " · ".join(f"{KIND_LABELS[k]}{self.counts[k]}" for k in KINDS if self.counts.get(k))


def _non_home() -> Select[Any]:
    return select(Institution.id).where(Institution.is_home.is_(False))


def _entered_at_outside(institution_id: Any, staff_id: Any) -> ColumnElement[bool]:
    """The record's institution, else its author's, is not the home hospital."""
    author = select(Staff.institution_id).where(Staff.id == staff_id).scalar_subquery()
    return func.coalesce(institution_id, author).in_(_non_home())


def _rows(kind: str) -> Select[Any]:
    """(patient_id, id, at) of every outside record of this kind; ``at`` sorts them."""
    if kind == "placement":
        return select(Catheter.patient_id, Catheter.id, Catheter.placed_at.label("at")).where(
            or_(
                Catheter.source == PlacementSource.BROUGHT_IN,
                _entered_at_outside(Catheter.institution_id, Catheter.registered_by_id),
            )
        )
    if kind == "maintenance":
        m = MaintenanceRecord
        return (
            select(Catheter.patient_id, m.id, m.performed_at.label("at"))
            .join(Catheter, Catheter.id == m.catheter_id)
            .where(_entered_at_outside(m.institution_id, m.staff_id))
        )
    if kind == "complication":
        x = Complication
        return select(x.patient_id, x.id, x.reported_at.label("at")).where(
            _entered_at_outside(x.institution_id, x.reported_by_id)
        )
    if kind == "report":
        r = Report
        return select(
            r.patient_id, r.id, func.coalesce(r.report_date, func.date(r.created_at)).label("at")
        ).where(
            r.ocr_status.not_in(HIDDEN),
            or_(
                r.source == ReportSource.OUTSIDE,
                _entered_at_outside(r.institution_id, r.uploaded_by_staff_id),
            ),
        )
    return (
        select(Catheter.patient_id, Removal.id, Removal.removed_on.label("at"))
        .join(Catheter, Catheter.id == Removal.catheter_id)
        .where(_entered_at_outside(Removal.institution_id, Removal.staff_id))
    )


def outside_ids(session: Session, patient_id: int) -> dict[str, set[int]]:
    """The ids of the patient's outside records, by kind (no access check: callers have one)."""
    found: dict[str, set[int]] = {}
    for kind in KINDS:
        query = _rows(kind)
        patient_col = query.selected_columns[0]
        found[kind] = {row[1] for row in session.execute(query.where(patient_col == patient_id))}
    return found


def _as_utc(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return words.on_day(value, None, tz)


def for_patient(
    session: Session,
    staff: Staff,
    patient_id: int,
    *,
    tz: ZoneInfo = TZ,
    d: Dictionary | None = None,
    context: str = "outside_records",
    ip: str | None = None,
) -> list[OutsideRecord]:
    """What other institutions registered for the patient, newest first. ``access.NotVisible``
    for a patient this staff member may not see (audited as denied) or that does not exist;
    the read is audited in the caller's unit of work."""
    actor = audit.Actor(ActorType.STAFF, staff.id, ip)
    if session.get(Patient, patient_id) is None:
        raise access.NotVisible(f"patient {patient_id}")
    access.check_patient(session, actor, "outside_records", patient_id, patient_id, context=context)
    d = d or dictionary_service.current(session)
    ids = outside_ids(session, patient_id)
    names = words.Names(session)
    out = (
        _placements(session, d, names, ids["placement"], tz)
        + _maintenance(session, d, names, ids["maintenance"], tz)
        + _complications(session, d, names, ids["complication"], tz)
        + _reports(session, names, ids["report"], tz)
        + _removals(session, d, names, ids["removal"], tz)
    )
    return sorted(out, key=lambda r: (r.at, r.record_id), reverse=True)


def _record(kind: str, tz: ZoneInfo, **fields: Any) -> OutsideRecord:
    fields.setdefault("source_label", words.OUTSIDE)
    on = fields["at"].astimezone(tz).date()
    return OutsideRecord(kind=kind, kind_label=KIND_LABELS[kind], on=on, **fields)


def _placements(
    session: Session, d: Dictionary, names: words.Names, ids: set[int], tz: ZoneInfo
) -> list[OutsideRecord]:
    found: Iterable[Catheter] = (
        session.scalars(select(Catheter).where(Catheter.id.in_(ids))) if ids else []
    )
    return [
        _record(
            "placement",
            tz,
            record_id=c.id,
            patient_id=c.patient_id,
            catheter_id=c.id,
            at=c.placed_at,
            institution=words.placement_place(names, c),
            person=words.placement_person(names, c),
            summary=f"{d.label('device_types', c.device_type)}，批号{c.lot_number or '未记录'}"
            + ("，院外带入" if c.source is PlacementSource.BROUGHT_IN else ""),
            target=f"/staff/catheters/{c.id}",
        )
        for c in found
    ]


def _maintenance(
    session: Session, d: Dictionary, names: words.Names, ids: set[int], tz: ZoneInfo
) -> list[OutsideRecord]:
    query = select(MaintenanceRecord, Catheter.patient_id).join(
        Catheter, Catheter.id == MaintenanceRecord.catheter_id
    )
    rows: Iterable[Any] = session.execute(query.where(MaintenanceRecord.id.in_(ids))) if ids else []
    return [
        _record(
            "maintenance",
            tz,
            record_id=m.id,
            patient_id=patient_id,
            catheter_id=m.catheter_id,
            at=m.performed_at,
            institution=words.maintenance_place(names, m),
            person=names.person(m.staff_id, m.performed_by_name),
            summary=words.maintenance_text(d, m),
            target=f"/staff/catheters/{m.catheter_id}",
        )
        for m, patient_id in rows
    ]


def _complications(
    session: Session, d: Dictionary, names: words.Names, ids: set[int], tz: ZoneInfo
) -> list[OutsideRecord]:
    if not ids:
        return []
    photos = words.photo_counts(session, ids)
    return [
        _record(
            "complication",
            tz,
            record_id=x.id,
            patient_id=x.patient_id,
            catheter_id=x.catheter_id,
            at=x.reported_at,
            institution=words.complication_place(names, x),
            person=names.person(x.reported_by_id),
            summary=f"{words.complication_title(d, x)}，{x.onset_on:%Y-%m-%d}发生"
            + (f"，照片{photos[x.id]}张" if photos.get(x.id) else ""),
            target=f"/staff/complications/{x.id}",
        )
        for x in session.scalars(select(Complication).where(Complication.id.in_(ids)))
    ]


def _reports(
    session: Session, names: words.Names, ids: set[int], tz: ZoneInfo
) -> list[OutsideRecord]:
    query = select(Report).options(selectinload(Report.items)).where(Report.id.in_(ids))
    return [
        _record(
            "report",
            tz,
            record_id=r.id,
            patient_id=r.patient_id,
            catheter_id=None,
            at=words.report_at(r, tz),
            institution=words.report_place(names, r),
            person=words.report_person(names, r),
            summary=words.report_text(r),
            target=f"/staff/reports/{r.id}/photo"
            if r.image_path
            else f"/staff/patients/{r.patient_id}",
            source_label=words.SELF_UPLOADED if r.source is ReportSource.SELF else words.OUTSIDE,
        )
        for r in (session.scalars(query) if ids else [])
    ]


def _removals(
    session: Session, d: Dictionary, names: words.Names, ids: set[int], tz: ZoneInfo
) -> list[OutsideRecord]:
    query = select(Removal, Catheter.patient_id).join(Catheter, Catheter.id == Removal.catheter_id)
    rows: Iterable[Any] = session.execute(query.where(Removal.id.in_(ids))) if ids else []
    return [
        _record(
            "removal",
            tz,
            record_id=r.id,
            patient_id=patient_id,
            catheter_id=r.catheter_id,
            at=words.on_day(r.removed_on, r.created_at, tz),
            institution=words.removal_place(names, r),
            person=names.person(r.staff_id),
            summary=words.removal_text(d, r),
            target=f"/staff/catheters/{r.catheter_id}",
        )
        for r, patient_id in rows
    ]


def recent_patients(
    session: Session,
    staff: Staff,
    limit: int = 20,
    *,
    tz: ZoneInfo = TZ,
    context: str = "outside_records",
    ip: str | None = None,
) -> list[OutsidePatient]:
    """Patients this staff member may see who have records from other institutions, the newest
    such record first, with how many of each kind; the list read is audited (one row naming
    the patients shown)."""
    latest: dict[int, datetime] = {}
    for kind in KINDS:  # each kind's newest `limit` patients hold the overall newest `limit`
        query = _rows(kind).subquery()
        rows = session.execute(
            select(query.c.patient_id, func.max(query.c.at))
            .join(Patient, Patient.id == query.c.patient_id)
            .where(access.visible_patients_clause(staff))
            .group_by(query.c.patient_id)
            .order_by(func.max(query.c.at).desc())
            .limit(limit)
        )
        for patient_id, at in rows:
            when = _as_utc(_parsed(at), tz)
            if patient_id not in latest or when > latest[patient_id]:
                latest[patient_id] = when
    chosen = sorted(latest, key=lambda pid: latest[pid], reverse=True)[:limit]
    counts = _counts(session, chosen)
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(chosen)))}
    out = [
        OutsidePatient(
            pid,
            patients[pid].name,
            patients[pid].hospital_patient_id,
            latest[pid].astimezone(tz).date(),
            counts[pid],
        )
        for pid in chosen
    ]
    audit.record(
        session,
        audit.Actor(ActorType.STAFF, staff.id, ip),
        "read",
        "outside_records_list",
        context=context,
        detail={"patients": chosen},
    )
    return out


def _parsed(value: Any) -> date | datetime:
    """A max() over a date expression comes back as text on SQLite."""
    if isinstance(value, str):
        return datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    return value


def _counts(session: Session, patient_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if not patient_ids:
        return counts
    for kind in KINDS:
        query = _rows(kind).subquery()
        rows = session.execute(
            select(query.c.patient_id, func.count())
            .where(query.c.patient_id.in_(patient_ids))
            .group_by(query.c.patient_id)
        )
        for patient_id, n in rows:
            counts[patient_id][kind] = int(n)
    return counts
