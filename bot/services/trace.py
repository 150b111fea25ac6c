"""One-click trace (一键溯源, A7.5): the whole story of one catheter, or of a patient (all their
catheters), in time order — placement (device, brand and model, lot number, who placed it, where,
when), every maintenance, complications with their handling steps, consultations, reports,
reminders sent, follow-up check-ins and the removal — each event with its time, institution,
person and a source mark (本院 / 外院 / 患者上传), what a quality or adverse-event review asks for.

Opening a trace checks access and writes the audit row (``access.open_catheter`` /
``open_patient``); a PDF download is opened with ``action="export"`` and ``record_export``
keeps it in the export log (``record_download``, which the FHIR download shares).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.care.dictionary import Dictionary
from bot.care.rules import local_date
from bot.care.timeline import SYSTEM, Device, Event, Trace
from bot.models import (
    Catheter,
    Complication,
    Consultation,
    ExportLog,
    Patient,
    utcnow,
)
from bot.models.enums import CatheterState, ExportStatus, ReportSource
from bot.security.crypto import PiiCipher
from bot.security.masking import initials, mask_id_card, mask_name

from . import access, audit, follow_ups, outside_records, reminders
from . import reports as report_service
from . import trace_words as words
from .consultations import status_label as consultation_status
from .consultations import views as consultation_views


def for_catheter(
    session: Session,
    d: Dictionary,
    catheter_id: int,
    *,
    actor: audit.Actor,
    tz: ZoneInfo,
    cipher: PiiCipher | None = None,
    context: str = "trace",
    action: str = "read",
) -> Trace:
    """The trace of one catheter, if ``actor`` may see its patient (the read, or ``action``,
    audited); ``access.NotVisible`` otherwise. Reports and consultations count when made
    about this catheter or, about none, during its dwell."""
    c = access.open_catheter(session, actor, catheter_id, context=context, action=action)
    shown = consultation_views.shown_to(access.staff_of(session, actor))
    return _trace(session, d, c.patient, [c], tz, cipher, shown, catheter=c)


def for_patient(
    session: Session,
    d: Dictionary,
    patient_id: int,
    *,
    actor: audit.Actor,
    tz: ZoneInfo,
    cipher: PiiCipher | None = None,
    context: str = "trace",
    action: str = "read",
) -> Trace:
    """The trace of all the patient's catheters and records, access-checked and audited."""
    patient = access.open_patient(session, actor, patient_id, context=context, action=action)
    catheters = list(
        session.scalars(
            select(Catheter).where(Catheter.patient_id == patient.id).order_by(Catheter.placed_at)
        )
    )
    shown = consultation_views.shown_to(access.staff_of(session, actor))
    return _trace(session, d, patient, catheters, tz, cipher, shown)


def record_export(
    session: Session, staff_id: int, trace: Trace, data: bytes, kind: str = "trace_pdf"
) -> ExportLog:
    """Keep a downloaded trace (the PDF's bytes, ``data``) in the export log (A7.6); its audit
    row is the trace's opening with ``action="export"``."""
    return record_download(
        session,
        staff_id,
        kind,
        {"patient_id": trace.patient_id, "catheter_id": trace.catheter_id},
        data,
        file_format="pdf",
        row_count=len(trace.events),
    )


def record_download(
    session: Session,
    staff_id: int | None,
    kind: str,
    params: dict[str, Any],
    data: bytes,
    *,
    file_format: str,
    row_count: int,
) -> ExportLog:
    """Keep a file of a patient's record made at once (no job) in the export log: who (none:
    the system), what, its format, row count and the SHA-256 of its bytes."""
    now = utcnow()
    entry = ExportLog(
        staff_id=staff_id,
        kind=kind,
        params=params,
        format=file_format,
        status=ExportStatus.DONE,
        row_count=row_count,
        file_sha256=hashlib.sha256(data).hexdigest(),
        created_at=now,
        finished_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def _trace(
    session: Session,
    d: Dictionary,
    patient: Patient,
    catheters: list[Catheter],
    tz: ZoneInfo,
    cipher: PiiCipher | None,
    shown: ColumnElement[bool],
    catheter: Catheter | None = None,
) -> Trace:
    names = words.Names(session)
    outside = outside_records.outside_ids(session, patient.id)
    events: list[Event] = []
    for c in catheters:
        events += _catheter_events(session, d, names, c, outside, tz)
    events += _consultations(session, names, patient.id, catheter, tz, shown)
    events += _reports(session, names, patient.id, outside["report"], catheter, tz)
    events.sort(key=lambda e: e.at)
    number = cipher.decrypt(patient.id_card_enc, context="patient.id_card") if cipher else None
    return Trace(
        patient_id=patient.id,
        patient_name=patient.name,
        masked_name=mask_name(patient.name),
        initials=initials(patient.name),
        id_card=mask_id_card(number),
        hospital_patient_id=patient.hospital_patient_id,
        devices=[_device(d, names, c) for c in catheters],
        events=events,
        catheter_id=catheter.id if catheter else None,
    )


def _device(d: Dictionary, names: words.Names, c: Catheter) -> Device:
    device = d.device_types.get(c.device_type)
    removed = c.state is CatheterState.REMOVED
    return Device(
        catheter_id=c.id,
        device=device.label if device else c.device_type,
        brand_model=" ".join(x for x in (c.brand, c.model or c.port_model) if x) or "未记录",
        lot_number=c.lot_number or "未记录",
        placed_at=c.placed_at,
        place=words.placement_place(names, c),
        person=words.placement_person(names, c),
        state=(f"已拔管（{c.removed_on:%Y-%m-%d}）" if c.removed_on else "已拔管")
        if removed
        else "在置",
    )


def _mark(outside: bool) -> str:
    return words.OUTSIDE if outside else words.HOME


def _catheter_events(
    session: Session,
    d: Dictionary,
    names: words.Names,
    c: Catheter,
    outside: dict[str, set[int]],
    tz: ZoneInfo,
) -> list[Event]:
    page = f"/staff/catheters/{c.id}"
    events = [
        Event(
            c.placed_at,
            "placement",
            words.placement_place(names, c),
            words.placement_person(names, c),
            words.placement_text(d, names, c),
            _mark(c.id in outside["placement"]),
            c.id,
            target=page,
        )
    ]
    for m in c.maintenance:
        events.append(
            Event(
                m.performed_at,
                "maintenance",
                words.maintenance_place(names, m),
                names.person(m.staff_id, m.performed_by_name),
                words.maintenance_text(d, m),
                _mark(m.id in outside["maintenance"]),
                c.id,
                target=page,
            )
        )
    events += _complications(session, d, names, c, outside["complication"])
    events += _reminders_and_follow_ups(session, d, names, c, tz)
    r = c.removal
    if r is not None:
        events.append(
            Event(
                words.on_day(r.removed_on, r.created_at, tz),
                "removal",
                words.removal_place(names, r),
                names.person(r.staff_id),
                words.removal_text(d, r),
                _mark(r.id in outside["removal"]),
                c.id,
                date_only=True,
                target=page,
            )
        )
    return events


def _complications(
    session: Session, d: Dictionary, names: words.Names, c: Catheter, outside: set[int]
) -> list[Event]:
    found = list(
        session.scalars(
            select(Complication)
            .options(selectinload(Complication.steps))
            .where(Complication.catheter_id == c.id)
        )
    )
    photos = words.photo_counts(session, [x.id for x in found]) if found else {}
    events = []
    for x in found:
        place, mark = words.complication_place(names, x), _mark(x.id in outside)
        page = f"/staff/complications/{x.id}"
        events.append(
            Event(
                x.reported_at,
                "complication",
                place,
                names.person(x.reported_by_id),
                words.complication_text(d, x, photos.get(x.id, 0)),
                mark,
                c.id,
                target=page,
            )
        )
        for step in x.steps:
            if step.kind == "REPORT":  # the complication's own event says it was reported
                continue
            staff = names.staff(step.staff_id)
            events.append(
                Event(
                    step.at,
                    "complication_step",
                    names.institution(None, step.staff_id) if staff else place,
                    names.person(step.staff_id),
                    words.step_text(d, x, step),
                    _mark(bool(staff and not staff.institution.is_home)) if staff else mark,
                    c.id,
                    target=page,
                )
            )
    return events


def _reminders_and_follow_ups(
    session: Session, d: Dictionary, names: words.Names, c: Catheter, tz: ZoneInfo
) -> list[Event]:
    home = words.HOME
    events = [
        Event(
            r.created_at,
            "reminder",
            home,
            SYSTEM,
            f"{r.kind}（{r.channel}，应于{r.due_on:%Y-%m-%d}维护）：{r.status}",
            home,
            c.id,
        )
        for r in reminders.history(session, c.id, tz, limit=10_000)
    ]
    for f in follow_ups.for_catheter(session, c.id, d):
        answered = f.answered_at is not None
        parts = [f"应于{f.due_on:%Y-%m-%d}", f.status_label]
        if f.level_label:
            parts.append(f.level_label)
        parts += list(f.answers) + f.notes
        if f.free_text:
            parts.append(f"患者原话：{f.free_text}")
        events.append(
            Event(
                f.sent_at or words.on_day(f.due_on, None, tz),
                "follow_up",
                home,
                "患者回复" if answered else SYSTEM,
                "；".join(parts),
                home,
                c.id,
                date_only=f.sent_at is None,
            )
        )
    return events


def _consultations(
    session: Session,
    names: words.Names,
    patient_id: int,
    catheter: Catheter | None,
    tz: ZoneInfo,
    shown: ColumnElement[bool],
) -> list[Event]:
    """The patient's consultations (those ``shown`` to the viewer: an outside clinician sees
    only the ones they take part in); for a catheter's trace, those about it or its
    complications whenever they were held, and those about nothing in particular during its
    dwell."""
    query = (
        select(Consultation)
        .options(selectinload(Consultation.members))
        .where(Consultation.patient_id == patient_id, shown)
    )
    if catheter is not None:
        query = query.outerjoin(
            Complication, Complication.id == Consultation.complication_id
        ).where(
            or_(
                Consultation.catheter_id == catheter.id,
                Complication.catheter_id == catheter.id,
                Consultation.catheter_id.is_(None)
                & Consultation.complication_id.is_(None)
                & (Consultation.created_at >= catheter.placed_at),
            )
        )
    events = []
    for k in session.scalars(query):
        unlinked = k.catheter_id is None and k.complication_id is None
        if catheter is not None and unlinked and not _during(catheter, k.created_at, tz):
            continue
        consultants = [names.person(m.staff_id) for m in k.members if m.role == "consultant"]
        requester = names.staff(k.requested_by_id)
        text = [k.title]
        if k.summary:
            text.append(f"问题：{k.summary}")
        text.append("会诊专家：" + ("、".join(consultants) or "待指派"))
        text.append(consultation_status(k.status))
        events.append(
            Event(
                k.created_at,
                "consultation",
                names.institution(None, k.requested_by_id),
                names.person(k.requested_by_id),
                "；".join(text),
                _mark(bool(requester and not requester.institution.is_home)),
                k.catheter_id,
            )
        )
        if k.conclusion and k.concluded_at:
            events.append(
                Event(
                    k.concluded_at,
                    "consultation_conclusion",
                    names.institution(None, k.concluded_by_id),
                    names.person(k.concluded_by_id),
                    f"{k.title}；结论：{k.conclusion}",
                    words.HOME,
                    k.catheter_id,
                )
            )
    return events


def _during(c: Catheter, at: datetime | date, tz: ZoneInfo) -> bool:
    """Whether a moment (or a day) falls within the catheter's dwell, by local dates."""
    day = at if not isinstance(at, datetime) else local_date(at, tz)
    end = c.removed_on or local_date(utcnow(), tz)
    return local_date(c.placed_at, tz) <= day <= end


def _reports(
    session: Session,
    names: words.Names,
    patient_id: int,
    outside: set[int],
    catheter: Catheter | None,
    tz: ZoneInfo,
) -> list[Event]:
    events = []
    for r in report_service.for_patient(session, patient_id):
        at = words.report_at(r, tz)
        if catheter is not None and not _during(catheter, r.report_date or at, tz):
            continue
        source = words.SELF_UPLOADED if r.source is ReportSource.SELF else _mark(r.id in outside)
        events.append(
            Event(
                at,
                "report",
                words.report_place(names, r),
                words.report_person(names, r),
                words.report_text(r),
                source,
                date_only=r.report_date is not None,
                target=f"/staff/reports/{r.id}/photo" if r.image_path else None,
            )
        )
    return events


def search(
    session: Session, actor: audit.Actor, query: str, *, context: str, limit: int = 20
) -> list[Catheter]:
    """Catheters to trace by patient name, hospital patient id or catheter id (digits), newest
    placement first, those of patients ``actor`` may see, each read audited."""
    query = query.strip()
    if not query:
        return []
    wanted = [Patient.name == query, Patient.hospital_patient_id == query]
    if query.isdigit() and len(query) < 10:
        wanted.append(Catheter.id == int(query))
    return access.find_catheters(session, actor, or_(*wanted), context=context, limit=limit)
