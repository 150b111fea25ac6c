"""Clinical patient records kept by hand in the admin web (A1.1): created for a brought-in
patient without an internet-hospital account, edited, merged when one person has two records,
deactivated. ID-card and phone numbers are checked, encrypted and indexed here and never shown
or audited in clear; every list and read is audited.

Two records of one person cannot share an ID card (its blind index is unique), so a duplicate
is a record without one — typed in at a placement — beside the record with it. A merge is
allowed when the two carry the same ID card or at most one carries any; the kept record takes
the duplicate's ID card, phone and hospital id where it has none, and every row of the
duplicate (found from the schema's foreign keys, so a new table is not forgotten).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Table, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from bot.models import (
    Appointment,
    AppointmentSlot,
    Base,
    Patient,
    PatientAccount,
    PatientProfile,
)
from bot.models.enums import AppointmentStatus, Sex
from bot.security import idcard
from bot.security.crypto import PiiCipher
from bot.security.masking import mask_id_card, mask_phone

from . import audit

PHONE = re.compile(r"^1[3-9]\d{9}$")
SEX_LABELS = {Sex.MALE: "男", Sex.FEMALE: "女", Sex.UNKNOWN: "未知"}


class RecordRefused(Exception):
    """The record cannot be saved or merged; the message says why, in Chinese. ``existing_id``
    names the record that already holds the ID card or hospital id, for a link."""

    def __init__(self, message: str, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


@dataclass
class PatientInput:
    """What the administrator typed; empty strings mean "not given"."""

    name: str
    id_card: str = ""
    phone: str = ""
    sex: str = ""  # M / F / U, or empty: from the ID card
    birth_date: date | None = None
    hospital_patient_id: str = ""


@dataclass(frozen=True)
class Shown:
    """A record as staff see it: numbers masked."""

    patient: Patient
    id_card: str
    phone: str
    profiles: int


@dataclass
class Merged:
    keep_id: int
    duplicate_id: int
    moved: dict[str, int] = field(default_factory=dict)  # table → rows moved
    cancelled_appointments: int = 0


def shown(session: Session, cipher: PiiCipher, patient: Patient) -> Shown:
    profiles = session.scalar(
        select(func.count(PatientProfile.id)).where(PatientProfile.patient_id == patient.id)
    )
    return Shown(
        patient,
        mask_id_card(cipher.decrypt(patient.id_card_enc, context="patient.id_card")),
        mask_phone(cipher.decrypt(patient.phone_enc, context="patient.phone")),
        int(profiles or 0),
    )


def search(
    session: Session,
    cipher: PiiCipher,
    actor: audit.Actor,
    q: str = "",
    *,
    include_inactive: bool = False,
    limit: int = 50,
) -> list[Shown]:
    """Records whose name contains ``q`` or whose hospital id is ``q`` (all, newest first,
    when ``q`` is empty); the list read is audited with the ids it showed."""
    query = select(Patient).order_by(Patient.id.desc()).limit(limit)
    q = q.strip()
    if q:
        query = query.where(
            or_(Patient.name.contains(q, autoescape=True), Patient.hospital_patient_id == q)
        )
    if not include_inactive:
        query = query.where(Patient.active.is_(True))
    found = list(session.scalars(query))
    audit.record(
        session,
        actor,
        "read",
        "patient_list",
        None,
        context="admin",
        detail={"q": q, "patients": [p.id for p in found]},
    )
    return [shown(session, cipher, p) for p in found]


def read(session: Session, cipher: PiiCipher, actor: audit.Actor, patient_id: int) -> Shown:
    """One record, its read audited."""
    patient = _get(session, patient_id)
    audit.record(
        session, actor, "read", "patient", patient.id, patient_id=patient.id, context="admin"
    )
    return shown(session, cipher, patient)


def create(session: Session, cipher: PiiCipher, data: PatientInput, actor: audit.Actor) -> Patient:
    """A new record: name and ID card required, the ID card checked, encrypted and indexed."""
    if not data.id_card.strip():
        raise RecordRefused("请填写身份证号：以后患者绑定互联网医院时，凭身份证号找到这份档案。")
    patient = Patient(name="")
    _apply(session, cipher, patient, data)
    session.add(patient)
    session.flush()
    audit.record(
        session, actor, "create", "patient", patient.id, patient_id=patient.id, context="admin"
    )
    return patient


def update(
    session: Session, cipher: PiiCipher, patient_id: int, data: PatientInput, actor: audit.Actor
) -> list[str]:
    """Change a record; an empty ID card or phone keeps the one on file. Returns the names of
    the fields that changed (audited — never the numbers themselves)."""
    patient = _get(session, patient_id)
    changed = _apply(session, cipher, patient, data)
    if changed:
        audit.record(
            session,
            actor,
            "update",
            "patient",
            patient.id,
            patient_id=patient.id,
            context="admin",
            detail={"fields": changed},
        )
    return changed


def _apply(session: Session, cipher: PiiCipher, patient: Patient, data: PatientInput) -> list[str]:
    name = data.name.strip()
    if not name:
        raise RecordRefused("请填写姓名。")
    if len(name) > 40:
        raise RecordRefused("姓名不能超过40个字。")
    new: dict[str, object] = {"name": name}
    number = data.id_card.strip()
    born, sex = data.birth_date, Sex(data.sex) if data.sex else None
    if number:
        try:
            number = idcard.validate(number)
        except idcard.IdCardError as exc:
            raise RecordRefused(str(exc)) from None
        if born is not None and born != idcard.birth_date(number):
            raise RecordRefused("出生日期与身份证号中的出生日期不一致，请核对。")
        card_sex = Sex.MALE if idcard.sex(number) == "M" else Sex.FEMALE
        if sex not in (None, Sex.UNKNOWN, card_sex):
            raise RecordRefused("性别与身份证号不一致，请核对。")
        born, sex = idcard.birth_date(number), card_sex
        index = cipher.blind_index(number, kind="id_card")
        holder = session.scalar(
            select(Patient.id).where(Patient.id_card_index == index, Patient.id != patient.id)
        )
        if holder is not None:
            raise RecordRefused("该身份证号已有档案，请打开该档案，不要重复建档。", holder)
        if index != patient.id_card_index:
            new["id_card_index"] = index
    if born is not None and not date(1900, 1, 1) <= born <= date.today():
        raise RecordRefused("出生日期无效。")
    phone = re.sub(r"[\s-]", "", data.phone)
    if phone and not PHONE.match(phone):
        raise RecordRefused("手机号应为11位，以1开头。")
    hospital_id = data.hospital_patient_id.strip() or None
    if hospital_id and hospital_id != patient.hospital_patient_id:
        holder = session.scalar(
            select(Patient.id).where(Patient.hospital_patient_id == hospital_id)
        )
        if holder is not None:
            raise RecordRefused("该病案号已属于另一份档案。", holder)
    new |= {"sex": sex or patient.sex or Sex.UNKNOWN, "birth_date": born or patient.birth_date}
    new["hospital_patient_id"] = hospital_id or patient.hospital_patient_id
    if phone and cipher.blind_index(phone, kind="phone") != patient.phone_index:
        new["phone_index"] = cipher.blind_index(phone, kind="phone")
    changed = [k for k, v in new.items() if getattr(patient, k) != v]
    for key, value in new.items():
        setattr(patient, key, value)
    if "id_card_index" in new:
        patient.id_card_enc = cipher.encrypt(number, context="patient.id_card")
    if "phone_index" in new:
        patient.phone_enc = cipher.encrypt(phone, context="patient.phone")
    return [{"id_card_index": "id_card", "phone_index": "phone"}.get(k, k) for k in changed]


def set_active(session: Session, patient_id: int, active: bool, actor: audit.Actor) -> Patient:
    """Deactivate (no longer offered for binding or clinicians' search; its records stay) or
    reactivate a record. A merged duplicate stays inactive."""
    patient = _get(session, patient_id)
    if active and patient.merged_into_id is not None:
        raise RecordRefused(f"该档案已合并到档案 {patient.merged_into_id}，不能重新启用。")
    if patient.active != active:
        patient.active = active
        audit.record(
            session,
            actor,
            "activate" if active else "deactivate",
            "patient",
            patient.id,
            patient_id=patient.id,
            context="admin",
        )
    return patient


def merge(session: Session, keep_id: int, duplicate_id: int, actor: audit.Actor) -> Merged:
    """Move everything of the duplicate to the kept record and deactivate the duplicate, in the
    caller's transaction. Different ID cards are refused (they are two people)."""
    if keep_id == duplicate_id:
        raise RecordRefused("请选择两份不同的档案。")
    keep, dup = _get(session, keep_id), _get(session, duplicate_id)
    if dup.merged_into_id is not None:
        raise RecordRefused(f"档案 {dup.id} 已合并到档案 {dup.merged_into_id}。")
    if keep.merged_into_id is not None:
        raise RecordRefused(f"档案 {keep.id} 已合并到档案 {keep.merged_into_id}，请保留该档案。")
    if keep.id_card_index and dup.id_card_index and keep.id_card_index != dup.id_card_index:
        raise RecordRefused("两份档案的身份证号不同，是两个人，不能合并。")
    result = Merged(keep.id, dup.id)
    result.cancelled_appointments = _clear_conflicts(session, keep.id, dup.id)
    took = _take_identifiers(session, keep, dup)
    if keep.phone_enc is None and dup.phone_enc is not None:
        keep.phone_enc, keep.phone_index = dup.phone_enc, dup.phone_index
    keep.birth_date = keep.birth_date or dup.birth_date
    if keep.sex is Sex.UNKNOWN:
        keep.sex = dup.sex
    session.flush()
    for table, column in _patient_references():
        moved = session.execute(
            sql_update(table).where(table.c[column] == dup.id).values({column: keep.id})
        ).rowcount  # type: ignore[attr-defined]
        if moved:
            result.moved[table.name] = result.moved.get(table.name, 0) + moved
    dup.active, dup.merged_into_id = False, keep.id
    session.flush()
    session.expire_all()
    audit.record(
        session,
        actor,
        "merge",
        "patient",
        keep_id,
        patient_id=keep_id,
        context="admin",
        detail={
            "duplicate": duplicate_id,
            "moved": result.moved,
            "cancelled_appointments": result.cancelled_appointments,
            "took": took,
        },
    )
    return result


def _take_identifiers(session: Session, keep: Patient, dup: Patient) -> list[str]:
    """The duplicate's ID card and hospital id go to the kept record where it has none. Both
    are unique: taken off the duplicate (flushed) before the kept record gets them."""
    card = (
        (dup.id_card_enc, dup.id_card_index)
        if dup.id_card_index and not keep.id_card_index
        else None
    )
    hospital_id = dup.hospital_patient_id if not keep.hospital_patient_id else None
    if card:
        dup.id_card_enc, dup.id_card_index = None, None
    if hospital_id:
        dup.hospital_patient_id = None
    session.flush()
    if card:
        keep.id_card_enc, keep.id_card_index = card
    if hospital_id:
        keep.hospital_patient_id = hospital_id
    return [
        name for name, value in (("id_card", card), ("hospital_patient_id", hospital_id)) if value
    ]


def _patient_references() -> list[tuple[Table, str]]:
    """Every (table, column) with a foreign key to patients.id (records merged into the
    duplicate earlier follow it to the kept record too)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "patients":
                found.append((table, fk.parent.name))
    return found


def _clear_conflicts(session: Session, keep_id: int, dup_id: int) -> int:
    """Rows that cannot move because the kept record already has their twin: a 就诊人 of the
    same account (removed; the account's active one repointed), a booking of the same slot
    (the duplicate's removed, its place given back if both were booked; but a live booking of
    the duplicate's is kept and the kept record's cancelled twin removed) and a delivery of the
    same article (removed: the kept record was sent it). Returns the bookings given back."""
    for profile in session.scalars(
        select(PatientProfile).where(PatientProfile.patient_id == dup_id)
    ):
        twin = session.scalar(
            select(PatientProfile).where(
                PatientProfile.patient_id == keep_id,
                PatientProfile.account_id == profile.account_id,
            )
        )
        if twin is not None:
            account = session.get(PatientAccount, profile.account_id)
            if account is not None and account.active_profile_id == profile.id:
                account.active_profile_id = twin.id
            session.flush()
            session.delete(profile)
    cancelled = 0
    for booking in session.scalars(
        select(Appointment).where(
            Appointment.patient_id == dup_id,
            Appointment.slot_id.in_(
                select(Appointment.slot_id).where(Appointment.patient_id == keep_id)
            ),
        )
    ).all():
        kept = session.scalar(
            select(Appointment).where(
                Appointment.patient_id == keep_id, Appointment.slot_id == booking.slot_id
            )
        )
        live = booking.status is AppointmentStatus.BOOKED
        if kept is not None and live and kept.status is not AppointmentStatus.BOOKED:
            _delete_booking(session, kept)  # the live booking moves over; its place stays taken
            continue
        if live:  # both booked: one patient holds the place once
            slot = session.get(AppointmentSlot, booking.slot_id)
            if slot is not None and slot.booked > 0:
                slot.booked -= 1
            cancelled += 1
        _delete_booking(session, booking)
    _drop_twin_deliveries(session, keep_id, dup_id)
    session.flush()
    return cancelled


def _delete_booking(session: Session, booking: Appointment) -> None:
    session.execute(
        sql_update(Appointment)
        .where(Appointment.replaces_id == booking.id)
        .values(replaces_id=None)
    )
    session.flush()
    session.delete(booking)
    session.flush()


def _drop_twin_deliveries(session: Session, keep_id: int, dup_id: int) -> None:
    table = Base.metadata.tables.get("article_deliveries")
    if table is None:
        return
    kept = select(table.c.article_id).where(table.c.patient_id == keep_id)
    session.execute(
        table.delete().where(table.c.patient_id == dup_id, table.c.article_id.in_(kept))
    )


def _get(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise RecordRefused("没有这份档案。")
    return patient
