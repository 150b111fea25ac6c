"""What the reminder modules share: the outbox key that delivers a reminder, SQL helpers for
either database, and the writer of reminder rows — the INSERT … SELECT that the sweep writes new
reminders with, and the next-channel writer: a reminder that failed on one outside channel is
written once more for the next one, whether the sweep wrote it failed or its send failed for
good (``try_next_channel``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, and_, exists, literal, or_, select, update
from sqlalchemy import cast as cast_sql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot.models import Patient, PatientAccount, PatientProfile, Reminder
from bot.models.enums import Channel, DeliveryStatus

KEY_PREFIX = "reminder:"
NO_PHONE = "没有手机号"
NO_FOLLOWER = "没有关注公众号的绑定账号"
# A reminder that cannot reach the patient on one outside channel goes to the next one.
NEXT_CHANNEL = {Channel.MP: Channel.SMS, Channel.SMS: Channel.MP}

# the outbox row delivering a reminder has the dedupe key "reminder:{id}"
OUTBOX_KEY = literal(KEY_PREFIX) + cast_sql(Reminder.id, String)

# the reminders that failed, seen from the reminders written for the next channel
FAILED = aliased(Reminder, name="failed")

COLUMNS = [
    "catheter_id",
    "patient_id",
    "due_on",
    "kind",
    "channel",
    "status",
    "last_error",
    "sent_at",
    "attempts",
    "created_at",
]


@dataclass
class SweepResult:
    created: int = 0
    outbox_ids: list[int] = field(default_factory=list)  # enqueue after commit
    delivered_inapp: int = 0


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_into(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT support on either database."""
    return (pg_insert if dialect(session) == "postgresql" else sqlite_insert)(table)


def update_reminders(session: Session, where: Any, values: dict[str, Any]) -> None:
    session.execute(
        update(Reminder).where(where).values(values).execution_options(synchronize_session=False)
    )


def is_open(now: datetime) -> Any:
    """Reminders still to deliver: pending (not yet in the outbox), not held by quiet hours."""
    return and_(
        Reminder.status == DeliveryStatus.PENDING,
        or_(Reminder.not_before.is_(None), Reminder.not_before <= now),
    )


def unreachable(channel: Channel, patient_id: Any) -> tuple[Any, str | None]:
    """When a patient cannot get a reminder on ``channel``, in SQL, and why."""
    if channel is Channel.SMS:
        p = aliased(Patient)  # the caller may select from patients already
        return exists().where(p.id == patient_id, p.phone_enc.is_(None)), NO_PHONE
    if channel is Channel.MP:
        follower = exists().where(
            PatientProfile.patient_id == patient_id,
            PatientAccount.id == PatientProfile.account_id,
            PatientAccount.subscribed.is_(True),
        )
        return ~follower, NO_FOLLOWER
    return literal(False), None


def insert_reminders(session: Session, rows: Any) -> list[int]:
    """INSERT … SELECT of reminders (``COLUMNS``), those a concurrent sweep wrote first left
    out; the ids."""
    stmt = (
        insert_into(session, Reminder.__table__)
        .from_select(COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["catheter_id", "due_on", "channel", "kind"])
        .returning(Reminder.__table__.c.id)
    )
    return list(session.execute(stmt).scalars())


def next_channels(session: Session, now: datetime, which: Any) -> dict[Channel, list[int]]:
    """The failed reminders ``which`` (a condition on ``FAILED``) are written once more for the
    next channel (``NEXT_CHANNEL``) when the patient can be reached there, whatever channels
    they chose — a missed maintenance matters more than the preference. The sweep sends them
    (quiet hours apply; a maintenance since then settles them). The new ids by channel."""
    created: dict[Channel, list[int]] = {}
    for channel, following in NEXT_CHANNEL.items():
        cannot_reach, _ = unreachable(following, FAILED.patient_id)
        written = exists().where(
            Reminder.catheter_id == FAILED.catheter_id,
            Reminder.due_on == FAILED.due_on,
            Reminder.channel == following,
            Reminder.kind == FAILED.kind,
        )
        rows = (
            select(
                FAILED.catheter_id,
                FAILED.patient_id,
                FAILED.due_on,
                FAILED.kind,
                literal(following, Reminder.channel.type),
                literal(DeliveryStatus.PENDING, Reminder.status.type),
                literal(None, Text),
                literal(None, Reminder.sent_at.type),
                literal(0),
                literal(now, Reminder.created_at.type),
            )
            .where(FAILED.channel == channel, which, ~cannot_reach, ~written)
            .order_by(FAILED.catheter_id)
        )
        created[following] = insert_reminders(session, rows)
    return created
