"""System enumerations (fixed by the software). Clinical codes (device types, veins,
complication types …) are dictionary data instead: see bot.care.dictionary."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def enum_type(enum_cls: type[StrEnum]) -> Enum:
    """Store an enum as its value in a VARCHAR, validated in Python (no native DB enum)."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class StaffRole(StrEnum):
    NURSE = "nurse"
    DOCTOR = "doctor"
    OUTSIDE_CLINICIAN = "outside_clinician"
    ADMIN = "admin"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"
    UNKNOWN = "U"


class PlacementSource(StrEnum):
    HERE = "here"  # inserted at this institution
    BROUGHT_IN = "brought_in"  # 院外带入


class CatheterState(StrEnum):
    IN_PLACE = "in_place"
    REMOVED = "removed"


class ComplicationStatus(StrEnum):
    OPEN = "open"  # reported, nothing done yet
    HANDLING = "handling"  # at least one handling step
    CLOSED = "closed"  # closed with an outcome (reopening is a step)


class FollowUpStatus(StrEnum):
    SENT = "sent"  # the check-in went out, no answer yet
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"  # reminded once, still silent: on the nurse's follow-up list
    STOPPED = "stopped"  # the catheter was removed before an answer


class ReportSource(StrEnum):
    HOSPITAL = "hospital"  # this hospital's LIS/PACS (flask reports import)
    SELF = "self"  # photographed by the patient
    OUTSIDE = "outside"  # from another hospital, brought in by a clinician


class OcrStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    NOT_A_REPORT = "not_a_report"  # the patient may keep it as a report anyway
    WOUND_PHOTO = "wound_photo"  # not a report: sent to the nurse as a photo of the site


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Channel(StrEnum):
    """Where a message enters or leaves."""

    MP = "mp"  # WeChat official account (公众号)
    WORK = "work"  # WeChat Work app (企业微信)
    SMS = "sms"
    INAPP = "inapp"  # 站内消息


class ReminderKind(StrEnum):
    BEFORE = "before"
    DUE = "due"
    OVERDUE = "overdue"
    ESCALATION = "escalation"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"  # a reminder handed to the outbox: its outbox row tells the outcome
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"


class InboxStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class ConsultationStatus(StrEnum):
    """requested (recorded; the group chat not open yet, or being retried) → open (the group
    chat exists and has the case) → concluded (a consultant recorded the conclusion) → closed
    (the requester confirmed, or an administrator closed it)."""

    REQUESTED = "requested"
    OPEN = "open"
    CONCLUDED = "concluded"
    CLOSED = "closed"


class PublishStatus(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"  # submitted, waiting for a second administrator to publish
    PUBLISHED = "published"
    ARCHIVED = "archived"  # unpublished (下线): kept, not shown to patients


class ArticleStage(StrEnum):
    """The moment of the device's life an article is for (A4.1); the stage pushes (P7.1)."""

    AFTER_PLACEMENT = "after_placement"  # 置管后
    DAILY_CARE = "daily_care"  # 日常护理
    BEFORE_MAINTENANCE = "before_maintenance"  # 维护前
    WARNING_SIGNS = "warning_signs"  # 并发症预警信号
    AFTER_REMOVAL = "after_removal"  # 拔管后


class AgreementKind(StrEnum):
    SERVICE = "service"  # 服务协议
    PRIVACY = "privacy"  # 隐私政策


class ActorType(StrEnum):
    STAFF = "staff"
    PATIENT = "patient"
    SYSTEM = "system"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
