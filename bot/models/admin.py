"""Content, agreements, the clinical dictionary and the audit and export logs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamped, utcnow
from .enums import ActorType, AgreementKind, ExportStatus, PublishStatus, enum_type


class EducationArticle(Timestamped, Base):
    """科普宣教 (P7.1, A4.1)."""

    __tablename__ = "education_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40))
    device_types: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    cover_path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[PublishStatus] = mapped_column(
        enum_type(PublishStatus), default=PublishStatus.DRAFT, index=True
    )
    published_at: Mapped[datetime | None]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # ArticleStage value: the moment of the device's life it is for (pushed then, P7.1)
    stage: Mapped[str | None] = mapped_column(String(24), index=True)
    version: Mapped[int] = mapped_column(default=1)  # the latest ArticleVersion's number
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    read_count: Mapped[int] = mapped_column(default=0)


class ArticleVersion(Base):
    """Every saved text of an article, never edited (A4.1: versions kept)."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("education_articles.id"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40))
    device_types: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    stage: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleDelivery(Base):
    """An article sent to a patient by itself for their device's stage (P7.1): each article
    once per patient, at most one a day (``sent_on``, the hospital's local date)."""

    __tablename__ = "article_deliveries"
    __table_args__ = (UniqueConstraint("patient_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("education_articles.id"))
    catheter_id: Mapped[int | None] = mapped_column(ForeignKey("catheters.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("patient_accounts.id"))
    stage: Mapped[str] = mapped_column(String(24))
    sent_on: Mapped[date] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agreement(Base):
    """A published version of the service agreement or privacy policy (A5.1)."""

    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_type(AgreementKind))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None]  # None: a draft, not yet in force
    note: Mapped[str | None] = mapped_column(String(255))  # what changed in this version
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgreementAcceptance(Base):
    __tablename__ = "agreement_acceptances"
    __table_args__ = (UniqueConstraint("account_id", "agreement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClinicalDictionary(Base):
    """One version of the clinical dictionary (codes, labels, intervals, scales; A7.1).

    Versions are never edited: an admin's change writes a new version, and the
    highest version is in force. Catheters record the version they were placed under.
    """

    __tablename__ = "clinical_dictionaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    payload: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Append-only: who read or changed what, when and why (X.1). The database refuses
    UPDATE and DELETE on this table (triggers in the migration)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[ActorType] = mapped_column(enum_type(ActorType))
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(32))  # read / create / update / delete / export …
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(index=True)
    context: Mapped[str | None] = mapped_column(String(255))  # why: "scan", "search", "export"
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ExportLog(Base):
    """An export (A6.2, A7.6), keyed by its RQ job id: who asked for what (kind, filters,
    format), whether identifiers were shown in full and why, how many rows, the file's hash,
    and how far its push to the hospital's low-code platform has got. A scheduled export (the
    monthly indicator set) has no staff."""

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)  # period and filters
    format: Mapped[str | None] = mapped_column(String(8))  # xlsx / csv / pdf / json
    full_identifiers: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text)  # required for full identifiers
    status: Mapped[ExportStatus] = mapped_column(
        enum_type(ExportStatus), default=ExportStatus.QUEUED
    )
    rq_job_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    row_count: Mapped[int | None]
    rows_written: Mapped[int] = mapped_column(default=0)  # progress while running
    file_path: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    lowcode_record_id: Mapped[str | None] = mapped_column(String(64))  # the export's own record
    # LowcodeStatus value; None: not to be pushed (the platform is not configured)
    lowcode_status: Mapped[str | None] = mapped_column(String(16), index=True)
    lowcode_attempts: Mapped[int] = mapped_column(default=0)
    lowcode_error: Mapped[str | None] = mapped_column(Text)  # the platform's message
    lowcode_next_attempt_at: Mapped[datetime | None]
    lowcode_pushed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when a worker last claimed it (set RUNNING): a running export claimed longer ago than the
    # job timeout is a dead worker's, which another run may take over
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class LowcodeBatch(Base):
    """One batch of ≤ 100 rows of an export sent to the low-code platform (A7.6). The
    ``transaction_id`` is the platform's idempotency key: a retried batch is the same
    transaction, so a row is never kept twice; the record ids the platform gave are kept."""

    __tablename__ = "lowcode_batches"
    __table_args__ = (UniqueConstraint("export_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("export_log.id"), index=True)
    seq: Mapped[int]  # 0: the export's own record; 1…: its rows, in order
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    row_count: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / done / failed
    attempts: Mapped[int] = mapped_column(default=0)
    record_ids: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
