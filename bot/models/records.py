"""Reports, appointments and consultations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, utcnow
from .enums import (
    AppointmentStatus,
    ConsultationStatus,
    OcrStatus,
    ReportSource,
    enum_type,
)
from .org import Staff


class Report(Timestamped, Base):
    """A lab or exam report: from the hospital, or photographed by the patient (P4, P6.2)."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    source: Mapped[ReportSource] = mapped_column(enum_type(ReportSource))
    uploaded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("patient_accounts.id"))
    uploaded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    image_path: Mapped[str | None] = mapped_column(String(255))
    image_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    ocr_status: Mapped[OcrStatus] = mapped_column(enum_type(OcrStatus), default=OcrStatus.PENDING)
    ocr_text: Mapped[str | None] = mapped_column(Text)
    ocr_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ocr_attempts: Mapped[int] = mapped_column(default=0)
    ocr_problem: Mapped[str | None] = mapped_column(String(200))  # blurred, dark: what to retake
    external_id: Mapped[str | None] = mapped_column(String(64))  # the LIS accession number
    conclusion: Mapped[str | None] = mapped_column(Text)  # imaging and culture reports
    report_type: Mapped[str | None] = mapped_column(String(40))
    report_date: Mapped[date | None]
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    institution_name: Mapped[str | None] = mapped_column(String(120))
    remarks: Mapped[str | None] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(default=False)

    items: Mapped[list[ReportItem]] = relationship(order_by="ReportItem.position")


class ReportItem(Base):
    __tablename__ = "report_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(80))
    code: Mapped[str | None] = mapped_column(String(24))  # the dictionary's lab item
    value: Mapped[str | None] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(24))
    reference_range: Mapped[str | None] = mapped_column(String(40))
    flag: Mapped[str | None] = mapped_column(String(4))  # H / L / N


class AppointmentSlot(Base):
    """Bookable capacity of a maintenance clinic (P8.1)."""

    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("institution_id", "service", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    service: Mapped[str] = mapped_column(String(24))  # PICC_MAINT / PORT_MAINT
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    # a closure (holiday, staff away): no longer bookable; bookings on it are cancelled and told
    closed: Mapped[bool] = mapped_column(default=False)
    closed_reason: Mapped[str | None] = mapped_column(String(120))


class ClinicSession(Base):
    """The weekly schedule of a maintenance clinic (P8.1): from it the slots of the coming
    weeks are generated; edited in the admin web."""

    __tablename__ = "clinic_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    service: Mapped[str] = mapped_column(String(24))  # PICC_MAINT / PORT_MAINT
    weekday: Mapped[int]  # 0 Monday … 6 Sunday
    starts_at: Mapped[str] = mapped_column(String(5))  # "08:00", local time
    ends_at: Mapped[str] = mapped_column(String(5))
    capacity: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class ClinicClosure(Base):
    """A day a clinic does not open (holiday, training): no slots that day."""

    __tablename__ = "clinic_closures"
    __table_args__ = (UniqueConstraint("institution_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (UniqueConstraint("slot_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("patient_accounts.id"))
    catheter_id: Mapped[int | None] = mapped_column(ForeignKey("catheters.id"))
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_type(AppointmentStatus), default=AppointmentStatus.BOOKED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(120))
    # a change of day or time: the new booking points at the one it replaces
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    reminded_at: Mapped[datetime | None]  # the reminder the day before, sent once
    marked_at: Mapped[datetime | None]  # arrived / no-show, by whom
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    slot: Mapped[AppointmentSlot] = relationship()


class Consultation(Timestamped, Base):
    """A consultation (会诊, C5.1): an outside or in-house clinician asks this hospital's
    vascular-access consultants about one patient; the service opens a WeChat Work group chat
    (``appchat``), brings the case into it, and records the advice and the conclusion."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    catheter_id: Mapped[int | None] = mapped_column(ForeignKey("catheters.id"))
    complication_id: Mapped[int | None] = mapped_column(ForeignKey("complications.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str | None] = mapped_column(Text)  # the requester's question, as written
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ConsultationStatus] = mapped_column(
        enum_type(ConsultationStatus), default=ConsultationStatus.REQUESTED, index=True
    )
    # the same request sent twice is one consultation: a hash of requester, patient, catheter
    # and question while the consultation is not closed (cleared on close)
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    requested_consultant_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    chat_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # appchat chatid
    chat_name: Mapped[str | None] = mapped_column(String(64))
    chat_attempts: Mapped[int] = mapped_column(default=0)
    chat_error: Mapped[str | None] = mapped_column(String(255))  # the last failure, in words
    opened_at: Mapped[datetime | None]  # the group chat was created
    conclusion: Mapped[str | None] = mapped_column(Text)
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    concluded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reminded_at: Mapped[datetime | None]  # the last "no conclusion yet" reminder

    members: Mapped[list[ConsultationMember]] = relationship()
    media: Mapped[list[ConsultationMedia]] = relationship(order_by="ConsultationMedia.id")
    notes: Mapped[list[ConsultationNote]] = relationship(order_by="ConsultationNote.at")


class ConsultationMember(Base):
    __tablename__ = "consultation_members"
    __table_args__ = (UniqueConstraint("consultation_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    # requester / consultant (may conclude) / member (added later, may advise)
    role: Mapped[str] = mapped_column(String(16), default="member")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_chat: Mapped[bool] = mapped_column(default=False)  # in the WeChat Work group chat


class ConsultationMedia(Base):
    """A photo, voice note, video or file brought into a consultation, kept in MEDIA_ROOT
    (WeChat Work media ids live 3 days); posted to the group chat once (``posted_at``)."""

    __tablename__ = "consultation_media"
    __table_args__ = (UniqueConstraint("consultation_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # image / voice / video / file
    path: Mapped[str] = mapped_column(String(255))  # relative to MEDIA_ROOT
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]


class ConsultationNote(Base):
    """Advice recorded during a consultation, or its conclusion (``kind``)."""

    __tablename__ = "consultation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(12), default="advice")  # advice / conclusion
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None]  # posted to the group chat


class ConsultantDuty(Base):
    """The consultation roster (会诊排班), kept as data and edited in the admin web: who is on
    duty on which weekdays (ISO 1–7; empty = every day) between which local times."""

    __tablename__ = "consultant_duties"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    weekdays: Mapped[list[Any]] = mapped_column(default=list)
    starts_at: Mapped[str] = mapped_column(String(5), default="00:00")
    ends_at: Mapped[str] = mapped_column(String(5), default="24:00")
    note: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    staff: Mapped[Staff] = relationship()
