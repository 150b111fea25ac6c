"""Catheters and everything recorded about them: maintenance, complications, removal."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, utcnow
from .enums import (
    CatheterState,
    ComplicationStatus,
    FollowUpStatus,
    PlacementSource,
    enum_type,
)
from .people import Patient

Cm = Numeric(6, 1)  # lengths and circumferences in centimetres, one decimal


class Catheter(Timestamped, Base):
    """A vascular access device from placement to removal (the 置管登记表).

    Codes (device_type, vein, side, …) come from the clinical dictionary; the PICC and
    port forms differ only in which of the nullable fields are filled.
    """

    __tablename__ = "catheters"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    device_type: Mapped[str] = mapped_column(String(16), index=True)  # PICC / PORT / CVC / MIDLINE
    state: Mapped[CatheterState] = mapped_column(
        enum_type(CatheterState), default=CatheterState.IN_PLACE, index=True
    )
    source: Mapped[PlacementSource] = mapped_column(
        enum_type(PlacementSource), default=PlacementSource.HERE
    )
    # placement
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    outside_institution_name: Mapped[str | None] = mapped_column(String(120))  # brought in
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    inserter_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    inserter_name: Mapped[str | None] = mapped_column(String(40))
    placed_at: Mapped[datetime] = mapped_column(index=True)
    brand: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(60))
    lot_number: Mapped[str | None] = mapped_column(String(40))
    french_size: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    lumens: Mapped[int | None]
    vein: Mapped[str | None] = mapped_column(String(24))
    side: Mapped[str | None] = mapped_column(String(8))
    techniques: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["MST", "US", "ECG"]
    insertion_length_cm: Mapped[Decimal | None] = mapped_column(Cm)
    external_length_cm: Mapped[Decimal | None] = mapped_column(Cm)
    arm_circumference_cm: Mapped[Decimal | None] = mapped_column(Cm)  # 10 cm above the elbow
    tip_position: Mapped[str | None] = mapped_column(String(60))
    tip_confirmation: Mapped[str | None] = mapped_column(String(16))  # XRAY / ECG
    attempts: Mapped[int | None]
    immediate_complications: Mapped[str | None] = mapped_column(Text)
    indication: Mapped[str | None] = mapped_column(String(120))
    planned_dwell_days: Mapped[int | None]
    # port form
    port_site: Mapped[str | None] = mapped_column(String(16))  # CHEST / ARM
    port_pocket: Mapped[str | None] = mapped_column(String(60))
    port_model: Mapped[str | None] = mapped_column(String(60))
    needle_gauge: Mapped[str | None] = mapped_column(String(8))
    needle_length_cm: Mapped[Decimal | None] = mapped_column(Cm)
    port_in_use: Mapped[bool] = mapped_column(default=False)  # continuous infusion through a needle
    dressing_type: Mapped[str] = mapped_column(String(16), default="TRANSPARENT")
    # follow-up management (C3.3, A7.4)
    tier: Mapped[str] = mapped_column(String(4), default="B")
    # Follow-up (随访, a check-in with the patient) and maintenance (维护) are two dates: the
    # tier (or a clinician's custom follow-up cycle) sets the first, the device rule (or a
    # clinician's custom maintenance cycle or explicit date) the second.
    follow_up_cycle_days: Mapped[int | None]  # custom follow-up cycle set by a clinician
    maintenance_cycle_days: Mapped[int | None]  # custom maintenance cycle set by a clinician
    next_follow_up_on: Mapped[date | None] = mapped_column(index=True)
    follow_up_notes: Mapped[str | None] = mapped_column(Text)
    responsible_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    last_maintained_on: Mapped[date | None]
    next_due_on: Mapped[date | None] = mapped_column(index=True)
    next_due_explicit: Mapped[bool] = mapped_column(default=False)
    removed_on: Mapped[date | None]
    # QR code: an opaque signed token carries (catheter id, version); bump to revoke
    qr_token_version: Mapped[int] = mapped_column(default=1)
    qr_revoked: Mapped[bool] = mapped_column(default=False)
    dictionary_version: Mapped[int | None]
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    patient: Mapped[Patient] = relationship()
    maintenance: Mapped[list[MaintenanceRecord]] = relationship(
        back_populates="catheter", order_by="MaintenanceRecord.performed_at"
    )
    complications: Mapped[list[Complication]] = relationship(back_populates="catheter")
    removal: Mapped[Removal | None] = relationship(back_populates="catheter")


class MaintenanceRecord(Base):
    """One maintenance visit (维护记录)."""

    __tablename__ = "maintenance_records"
    # the on-time rate (A6.1): the due dates falling in a period and whether the next
    # maintenance met them, read from the index alone (PostgreSQL: INCLUDE); "a maintenance
    # after the placement, by its first due date" is one probe
    __table_args__ = (
        Index(
            "ix_maintenance_records_performed_at",
            "performed_at",
            postgresql_include=["catheter_id", "next_due_on"],
        ),
        Index(
            "ix_maintenance_records_next_due_on",
            "next_due_on",
            postgresql_include=["catheter_id", "next_performed_at"],
        ),
        Index("ix_maintenance_records_catheter_id_performed_at", "catheter_id", "performed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catheter_id: Mapped[int] = mapped_column(ForeignKey("catheters.id"), index=True)
    # client-generated key: a double tap on "save" creates one record
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    performed_at: Mapped[datetime]
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    performed_by_name: Mapped[str | None] = mapped_column(String(40))
    site_findings: Mapped[list[Any]] = mapped_column(default=list)  # dictionary codes
    external_length_cm: Mapped[Decimal | None] = mapped_column(Cm)
    arm_circumference_cm: Mapped[Decimal | None] = mapped_column(Cm)
    flushed: Mapped[bool] = mapped_column(default=False)
    flush_solution: Mapped[str | None] = mapped_column(String(40))
    flush_volume_ml: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    locked: Mapped[bool] = mapped_column(default=False)
    lock_solution: Mapped[str | None] = mapped_column(String(40))
    lock_volume_ml: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    dressing_changed: Mapped[bool] = mapped_column(default=False)
    dressing_type: Mapped[str | None] = mapped_column(String(16))
    connector_changed: Mapped[bool] = mapped_column(default=False)
    needle_changed: Mapped[bool] = mapped_column(default=False)
    blood_return: Mapped[bool | None]
    patency: Mapped[str | None] = mapped_column(String(16))  # PATENT / PARTIAL / OCCLUDED
    catheter_intact: Mapped[bool | None]
    complication_id: Mapped[int | None] = mapped_column(ForeignKey("complications.id"))
    red_flags: Mapped[list[Any]] = mapped_column(default=list)
    next_due_on: Mapped[date | None]
    next_due_explicit: Mapped[bool] = mapped_column(default=False)
    # when the catheter's next maintenance after this one was done (None: none yet), kept by
    # bot.models.links at every flush: whether it met ``next_due_on`` is a plain comparison
    next_performed_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    catheter: Mapped[Catheter] = relationship(back_populates="maintenance")


class Complication(Timestamped, Base):
    """A complication (并发症): basic info, brief history, treatment, nursing exam (P6.4)."""

    __tablename__ = "complications"

    id: Mapped[int] = mapped_column(primary_key=True)
    catheter_id: Mapped[int] = mapped_column(ForeignKey("catheters.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    type: Mapped[str] = mapped_column(String(24), index=True)
    # a client-generated key: a double tap on the H5 form's "save" creates one record
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    onset_on: Mapped[date] = mapped_column(index=True)
    grade: Mapped[int | None]
    basic_info: Mapped[str | None] = mapped_column(Text)
    brief_history: Mapped[str | None] = mapped_column(Text)
    treatment: Mapped[str | None] = mapped_column(Text)
    nursing_exam: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ComplicationStatus] = mapped_column(
        enum_type(ComplicationStatus), default=ComplicationStatus.OPEN, index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(24))  # dictionary: complication_outcomes
    outcome_note: Mapped[str | None] = mapped_column(Text)
    led_to_removal: Mapped[bool] = mapped_column(default=False)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    responsible_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_step_at: Mapped[datetime | None]  # the latest handling step (the 24-hour alert)
    resolved_at: Mapped[datetime | None]  # closed with an outcome
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reopened_count: Mapped[int] = mapped_column(default=0)

    catheter: Mapped[Catheter] = relationship(back_populates="complications")
    steps: Mapped[list[ComplicationStep]] = relationship(order_by="ComplicationStep.at")
    photos: Mapped[list[ComplicationPhoto]] = relationship()


class ComplicationStep(Base):
    """A handling step: what was done (a dictionary handling code and free text), when, by
    whom. Reporting, closing and reopening are steps too, so the timeline is the whole story."""

    __tablename__ = "complication_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    complication_id: Mapped[int] = mapped_column(ForeignKey("complications.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(24), default="NOTE")  # dictionary: handling_steps
    action: Mapped[str] = mapped_column(Text)  # what was done, as written


class ComplicationPhoto(Base):
    __tablename__ = "complication_photos"
    __table_args__ = (UniqueConstraint("complication_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complication_id: Mapped[int] = mapped_column(ForeignKey("complications.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("complication_steps.id"))
    path: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    caption: Mapped[str | None] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Removal(Base):
    """拔管: one per catheter."""

    __tablename__ = "removals"

    id: Mapped[int] = mapped_column(primary_key=True)
    catheter_id: Mapped[int] = mapped_column(ForeignKey("catheters.id"), unique=True)
    removed_on: Mapped[date] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(24))  # dictionary: removal_reasons
    unplanned: Mapped[bool] = mapped_column(default=False)  # the quality indicator (A6.1)
    complication_id: Mapped[int | None] = mapped_column(ForeignKey("complications.id"))
    catheter_intact: Mapped[bool | None]
    tip_culture_sent: Mapped[bool] = mapped_column(default=False)
    tip_culture_result: Mapped[str | None] = mapped_column(String(120))
    dwell_days: Mapped[int]
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    catheter: Mapped[Catheter] = relationship(back_populates="removal")


class FollowUp(Base):
    """One follow-up check-in (随访, A7.4): the questions sent on a follow-up date, the
    patient's answers, how worrying they are, and who was told."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("catheter_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catheter_id: Mapped[int] = mapped_column(ForeignKey("catheters.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    due_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_type(FollowUpStatus), default=FollowUpStatus.SENT, index=True
    )
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # the one reminder after 24 hours without an answer
    answered_at: Mapped[datetime | None]
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)  # question code -> answer
    free_text: Mapped[str | None] = mapped_column(Text)  # what the patient wrote, verbatim
    level: Mapped[str | None] = mapped_column(String(8))  # OK / CONCERN / URGENT
    flags: Mapped[list[Any]] = mapped_column(default=list)  # the red flags the answers raised
    nurse_told_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    catheter: Mapped[Catheter] = relationship()
