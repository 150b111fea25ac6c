"""What people see of consultations: the "我的会诊" list, the case page's facts and the
administrators' list. Every read that shows a patient checks access and writes its audit row
here, so no page or chat action can show a consultation without both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, or_, select, true
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, selectinload

from bot.care.rules import local_date
from bot.models import (
    Catheter,
    ConsultantDuty,
    Consultation,
    ConsultationMedia,
    ConsultationMember,
    Patient,
    Report,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, ConsultationStatus, StaffRole
from bot.security.crypto import PiiCipher
from bot.security.masking import initials, mask_id_card, mask_phone

from .. import access, audit
from .. import dictionary as dictionary_service
from .. import reports as report_service
from . import STATUS_LABELS, facts, roster

ROLE_LABELS = {"requester": "申请人", "consultant": "会诊专家", "member": "参与者"}
MEDIA_LABELS = {"image": "照片", "voice": "语音", "video": "视频", "file": "文件"}
ARROWS = {"H": "↑", "L": "↓"}
RECENT_REPORTS = 5


@dataclass(frozen=True)
class Line:
    """One consultation in a list."""

    consultation: Consultation
    role: str  # the viewer's role in it: requester / consultant / member
    patient_initials: str
    device: str | None
    status_label: str
    asked_at: datetime
    conclusion: str | None


@dataclass(frozen=True)
class Member:
    staff_id: int
    name: str
    role: str
    role_label: str
    institution: str
    title: str | None
    in_chat: bool


@dataclass(frozen=True)
class MediaItem:
    id: int
    kind: str  # image / voice / video / file
    kind_label: str
    content_type: str
    size: int
    uploaded_by: str
    at: datetime
    posted: bool


@dataclass(frozen=True)
class NoteItem:
    kind: str  # advice / conclusion
    text: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ReportLine:
    id: int
    kind: str
    when: str
    institution: str | None
    abnormal: list[str]  # "血小板 45↓", flagged values only
    conclusion: str | None


@dataclass(frozen=True)
class Case:
    """The case page's facts: the patient masked (never a full name, ID or phone)."""

    consultation: Consultation
    viewer_role: str | None  # requester / consultant / member, None for other staff
    patient_initials: str
    sex: str
    age: int | None
    id_card: str  # masked
    phone: str  # masked
    device: str | None
    placed_on: date | None
    placed_at_institution: str | None
    last_maintenance: date | None
    last_maintenance_institution: str | None
    complications: list[facts.ComplicationLine]
    reports: list[ReportLine]
    question: str
    urgent: bool
    status: ConsultationStatus
    status_label: str
    members: list[Member]
    media: list[MediaItem]
    notes: list[NoteItem]
    conclusion: str | None
    concluded_by: str | None
    concluded_at: datetime | None
    chat_name: str | None
    chat_error: str | None

    @property
    def may_conclude(self) -> bool:
        return self.viewer_role == "consultant" and self.status is not ConsultationStatus.CLOSED


def role_of(consultation: Consultation, staff_id: int) -> str | None:
    """The staff member's role in the consultation (requester / consultant / member)."""
    for member in consultation.members:
        if member.staff_id == staff_id:
            return member.role
    return "requester" if consultation.requested_by_id == staff_id else None


def shown_to(staff: Staff) -> ColumnElement[bool]:
    """The consultations ``staff`` may see in lists of a patient they may see (the trace, a
    complication's page): all of them for home staff, only those they take part in (a member,
    or the requester) for an outside clinician — as ``open_consultation`` decides."""
    if staff.role is not StaffRole.OUTSIDE_CLINICIAN:
        return true()
    return or_(
        Consultation.requested_by_id == staff.id,
        Consultation.id.in_(
            select(ConsultationMember.consultation_id).where(
                ConsultationMember.staff_id == staff.id
            )
        ),
    )


def open_consultation(
    session: Session,
    consultation_id: int,
    actor: audit.Actor,
    *,
    context: str = "h5",
    action: str = "read",
) -> Consultation:
    """The consultation if ``actor`` may see it, ``action`` audited; ``access.NotVisible``
    otherwise (audited as denied when it exists). Its members see it; other home-hospital
    staff see it when they may see the patient; an outside clinician only as a member."""
    consultation = session.get(Consultation, consultation_id)
    staff = access.staff_of(session, actor)
    if consultation is None:
        raise access.NotVisible(f"consultation {consultation_id}")
    member = role_of(consultation, staff.id) is not None
    allowed = member or (
        staff.role is not StaffRole.OUTSIDE_CLINICIAN
        and access.staff_may_see_patient(session, staff, consultation.patient_id)
    )
    audit.record(
        session,
        actor,
        action if allowed else "denied",
        "consultation",
        consultation.id,
        patient_id=consultation.patient_id,
        context=context,
        detail=None if allowed else {"wanted": action},
    )
    if not allowed:
        raise access.NotVisible(f"consultation {consultation_id}")
    return consultation


def media_of(
    session: Session, consultation_id: int, media_id: int, actor: audit.Actor, *, context: str
) -> ConsultationMedia:
    """One photo / voice note / video of the consultation, for whoever may see the
    consultation (the read audited); ``access.NotVisible`` otherwise."""
    consultation = open_consultation(session, consultation_id, actor, context=context)
    media = session.get(ConsultationMedia, media_id)
    if media is None or media.consultation_id != consultation.id:
        raise access.NotVisible(f"consultation media {media_id}")
    return media


def case(
    session: Session,
    consultation_id: int,
    actor: audit.Actor,
    *,
    cipher: PiiCipher | None = None,
    tz: ZoneInfo | None = None,
    context: str = "h5",
) -> Case:
    """The case page's facts, access-checked and audited (``open_consultation``): patient
    basics masked, the device and its placement, the last maintenance, open complications,
    recent reports with their abnormal values, the question, members, media, notes and the
    conclusion. ``cipher`` decrypts the ID and phone to show them masked (blank without)."""
    k = open_consultation(session, consultation_id, actor, context=context)
    d = dictionary_service.current(session)
    today = local_date(utcnow(), tz) if tz else utcnow().date()
    patient = session.get_one(Patient, k.patient_id)
    catheter = facts.catheter_of(session, k)
    last = facts.last_maintenance(session, catheter.id) if catheter else None
    names = _staff(session, k)
    viewer = actor.id or 0
    return Case(
        consultation=k,
        viewer_role=role_of(k, viewer),
        patient_initials=initials(patient.name),
        sex=facts.SEX_LABELS.get(patient.sex, "未知"),
        age=facts.age(patient.birth_date, today),
        id_card=_masked(cipher, patient.id_card_enc, "patient.id_card", mask_id_card),
        phone=_masked(cipher, patient.phone_enc, "patient.phone", mask_phone),
        device=d.label("device_types", catheter.device_type) if catheter else None,
        placed_on=local_date(catheter.placed_at, tz) if catheter and tz else None,
        placed_at_institution=facts.placed_where(session, catheter) if catheter else None,
        last_maintenance=(local_date(last.performed_at, tz) if tz else last.performed_at.date())
        if last
        else (catheter.last_maintained_on if catheter else None),
        last_maintenance_institution=facts.institution_name(session, last.institution_id)
        if last
        else None,
        complications=facts.open_complications(session, d, k.patient_id),
        reports=_recent_reports(session, k.patient_id),
        question=k.summary or k.title,
        urgent=k.urgent,
        status=k.status,
        status_label=STATUS_LABELS[k.status],
        members=_members(k, names),
        media=[
            MediaItem(
                id=m.id,
                kind=m.kind,
                kind_label=MEDIA_LABELS.get(m.kind, m.kind),
                content_type=m.content_type,
                size=m.size,
                uploaded_by=names[m.uploaded_by_id].name if m.uploaded_by_id in names else "",
                at=m.created_at,
                posted=m.posted_at is not None,
            )
            for m in k.media
        ],
        notes=[
            NoteItem(
                kind=n.kind,
                text=n.text,
                by=names[n.staff_id].name if n.staff_id in names else "",
                at=n.at,
            )
            for n in k.notes
        ],
        conclusion=k.conclusion,
        concluded_by=names[k.concluded_by_id].name if k.concluded_by_id in names else None,
        concluded_at=k.concluded_at,
        chat_name=k.chat_name,
        chat_error=k.chat_error,
    )


def mine(
    session: Session, staff: Staff, *, limit: int = 50, actor: audit.Actor | None = None
) -> list[Line]:
    """Consultations this staff member requested or takes part in: not closed first (oldest
    request first), then closed (newest first). An outside clinician sees only these. The
    list is a read of patient data, audited once with the patients it shows (as ``actor``,
    by default the staff member without an address)."""
    member = select(ConsultationMember.consultation_id).where(
        ConsultationMember.staff_id == staff.id
    )
    query = select(Consultation).where(
        or_(Consultation.requested_by_id == staff.id, Consultation.id.in_(member))
    )
    lines = _lines(session, query, limit, staff.id)
    _audit_list(session, actor or audit.Actor(ActorType.STAFF, staff.id), lines, "mine")
    return lines


def every(session: Session, actor: audit.Actor, *, limit: int = 300) -> list[Line]:
    """Every consultation, for administrators (the admin web's list), not closed first;
    audited like ``mine``."""
    lines = _lines(session, select(Consultation), limit, None)
    _audit_list(session, actor, lines, "admin")
    return lines


def _lines(
    session: Session, query: Select[tuple[Consultation]], limit: int, viewer_id: int | None
) -> list[Line]:
    closed = Consultation.status == ConsultationStatus.CLOSED
    rows = session.execute(
        query.add_columns(Patient.name, Catheter.device_type)
        .join(Patient, Patient.id == Consultation.patient_id)
        .outerjoin(Catheter, Catheter.id == Consultation.catheter_id)
        .options(selectinload(Consultation.members))
        .order_by(
            sql_case((closed, 1), else_=0),
            sql_case((closed, None), else_=Consultation.created_at).asc(),
            Consultation.created_at.desc(),
            Consultation.id,
        )
        .limit(limit)
    ).all()
    d = dictionary_service.current(session) if rows else None
    return [
        Line(
            consultation=k,
            role=(role_of(k, viewer_id) or "") if viewer_id else "",
            patient_initials=initials(name),
            device=d.label("device_types", device) if d and device else None,
            status_label=STATUS_LABELS[k.status],
            asked_at=k.created_at,
            conclusion=k.conclusion,
        )
        for k, name, device in rows
    ]


def _audit_list(session: Session, actor: audit.Actor, lines: list[Line], context: str) -> None:
    audit.record(
        session,
        actor,
        "read",
        "consultation_list",
        None,
        context=context,
        detail={"patients": sorted({line.consultation.patient_id for line in lines})},
    )


def consultant_choices(session: Session) -> list[Staff]:
    """Whom a requester may name: the roster's consultants (active rows) and the home
    hospital's vascular experts, each one who may consult (``roster.may_consult``), by name."""
    rostered = session.scalars(
        select(Staff)
        .join(ConsultantDuty, ConsultantDuty.staff_id == Staff.id)
        .where(ConsultantDuty.active.is_(True), Staff.active.is_(True))
    ).all()
    found = {s.id: s for s in [*rostered, *roster.fallback(session)]}
    return sorted(
        (s for s in found.values() if roster.may_consult(session, s)), key=lambda s: (s.name, s.id)
    )


def _recent_reports(session: Session, patient_id: int) -> list[ReportLine]:
    return [
        _report_line(r) for r in report_service.for_patient(session, patient_id, RECENT_REPORTS)
    ]


def _report_line(r: Report) -> ReportLine:
    return ReportLine(
        id=r.id,
        kind=report_service.kind_label(r.report_type),
        when=r.report_date.isoformat() if r.report_date else "日期待补充",
        institution=r.institution_name,
        abnormal=[
            f"{i.name} {i.value or ''}{ARROWS.get(i.flag or '', '')}".strip()
            for i in r.items
            if i.flag and i.flag != "N"
        ],
        conclusion=r.conclusion,
    )


def _staff(session: Session, k: Consultation) -> dict[int, Staff]:
    ids = {m.staff_id for m in k.members} | {n.staff_id for n in k.notes}
    ids |= {m.uploaded_by_id for m in k.media if m.uploaded_by_id}
    ids |= {i for i in (k.requested_by_id, k.concluded_by_id, k.closed_by_id) if i}
    found = session.scalars(
        select(Staff).options(selectinload(Staff.institution)).where(Staff.id.in_(ids))
    )
    return {s.id: s for s in found}


def _members(k: Consultation, names: dict[int, Staff]) -> list[Member]:
    order = {"requester": 0, "consultant": 1, "member": 2}
    members = sorted(k.members, key=lambda m: (order.get(m.role, 3), m.added_at, m.id))
    return [
        Member(
            staff_id=m.staff_id,
            name=names[m.staff_id].name,
            role=m.role,
            role_label=ROLE_LABELS.get(m.role, m.role),
            institution=names[m.staff_id].institution.name,
            title=names[m.staff_id].title,
            in_chat=m.in_chat,
        )
        for m in members
        if m.staff_id in names
    ]


def _masked(
    cipher: PiiCipher | None, blob: bytes | None, context: str, mask: Callable[[str | None], str]
) -> str:
    if cipher is None or blob is None:
        return ""
    return str(mask(cipher.decrypt(blob, context=context)))


__all__ = [
    "Case",
    "Line",
    "case",
    "consultant_choices",
    "every",
    "media_of",
    "mine",
    "open_consultation",
    "role_of",
]
