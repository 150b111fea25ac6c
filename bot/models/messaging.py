"""Inbound and outbound messages, reminders and in-app messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .enums import Channel, DeliveryStatus, InboxStatus, ReminderKind, enum_type


class InboxMessage(Base):
    """A callback from WeChat, persisted before it is acknowledged.

    ``dedupe_key`` is MsgId for messages and CreateTime+Event+EventKey for events, so a
    retried delivery hits the unique constraint instead of creating a second turn.
    """

    __tablename__ = "inbox_messages"
    __table_args__ = (UniqueConstraint("channel", "sender", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    sender: Mapped[str] = mapped_column(String(64), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(160))
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[InboxStatus] = mapped_column(
        enum_type(InboxStatus), default=InboxStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # what the dialogue engine got and answered: kept so a retried turn never asks twice
    turn_input: Mapped[dict[str, Any] | None]
    replies: Mapped[list[Any] | None]
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to send; ``dedupe_key`` makes a re-run of the same turn send nothing twice."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_messages.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    recipient: Mapped[str] = mapped_column(String(255))
    msg_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus), default=DeliveryStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Reminder(Base):
    """A maintenance reminder on one channel; unique per (catheter, due date, channel, kind).

    Indexes are few on purpose: a sweep writes a hundred thousand of them at once. The unique
    key serves lookups by catheter; the sweep's "still to send" are found by a partial index
    over the pending ones only, which stays small."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("catheter_id", "due_on", "channel", "kind"),
        Index(
            "ix_reminders_pending",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    catheter_id: Mapped[int] = mapped_column(ForeignKey("catheters.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    due_on: Mapped[date]
    kind: Mapped[ReminderKind] = mapped_column(enum_type(ReminderKind))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]  # quiet hours push sending later
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class InAppMessage(Base):
    """站内消息 shown on the patient's home card and message list (P2.4, P3.1)."""

    __tablename__ = "inapp_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
