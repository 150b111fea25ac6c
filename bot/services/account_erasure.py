"""A patient's request to delete their account (个人信息保护法 第47条).

The account's personal data is erased: nickname, unionid, internet-hospital id cleared, the
openid replaced by a placeholder that identifies nobody, its 就诊人 unbound, and what was said
in the conversation blanked (inbox and outbox payloads of that openid, and the dialogue
engine's tracker events when its table is in this database). The hospital keeps what the law
requires it to keep: the clinical patient records and everything clinical, the audit log, and
the agreement acceptances (proof of consent; they now point at an account that names nobody).
A second request finds nothing left to erase and does nothing. When the same person follows
again, their openid is unknown and they get a new account.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, MetaData, String, Table, delete, func, inspect, update
from sqlalchemy.orm import Session

from bot.models import InboxMessage, OutboxMessage, PatientAccount, PatientProfile, utcnow
from bot.models.enums import Channel, DeliveryStatus, InboxStatus

from . import audit

log = logging.getLogger(__name__)
TRACKER_TABLE = "events"  # Rasa's SQLTrackerStore; conversations are "mp:<openid>"
ERASED_NOTE = "账号已注销"
# only the column the erasure needs; the table is Rasa's, never created here
_tracker = Table(TRACKER_TABLE, MetaData(), Column("sender_id", String(255)))


def placeholder(account_id: int) -> str:
    return f"erased:{account_id}"


def erase(session: Session, account: PatientAccount, actor: audit.Actor, reason: str) -> bool:
    """Erase ``account``'s personal data in the caller's transaction; True if it did, False if
    the account was already erased (nothing more is done, nothing raised)."""
    if account.erased_at is not None:
        log.info("account %s already erased on %s", account.id, account.erased_at)
        return False
    # claim the row: of two requests at the same moment (a double tap, an administrator and
    # the patient) the second waits for the first's row lock, then finds it erased
    now = utcnow()
    claimed = session.execute(
        update(PatientAccount)
        .where(PatientAccount.id == account.id, PatientAccount.erased_at.is_(None))
        .values(erased_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not claimed:
        session.refresh(account)
        log.info("account %s erased meanwhile on %s", account.id, account.erased_at)
        return False
    openid, gone = account.openid, placeholder(account.id)
    profiles = len(account.profiles)
    account.active_profile_id = None
    session.flush()
    session.execute(delete(PatientProfile).where(PatientProfile.account_id == account.id))
    inbox = session.execute(
        update(InboxMessage)
        .where(InboxMessage.channel == Channel.MP, InboxMessage.sender == openid)
        .values(sender=gone, payload={}, turn_input=None, replies=None, last_error=None)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(InboxMessage)
        .where(
            InboxMessage.sender == gone,
            InboxMessage.status.in_([InboxStatus.PENDING, InboxStatus.PROCESSING]),
        )
        .values(status=InboxStatus.DONE, processed_at=utcnow())
    )
    outbox = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.channel == Channel.MP, OutboxMessage.recipient == openid)
        .values(
            recipient=gone,
            payload={},
            # keys such as "hold:mp:<openid>:…" name the follower too; still unique after
            dedupe_key=func.replace(OutboxMessage.dedupe_key, openid, gone),
            last_error=None,
        )
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient == gone, OutboxMessage.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, last_error=ERASED_NOTE)
    )
    tracker = _erase_tracker(session, f"{Channel.MP.value}:{openid}")
    account.openid, account.unionid, account.ih_user_id = gone, None, None
    account.nickname, account.subscribed, account.bound_at = None, False, None
    account.erased_at = now
    session.expire(account, ["profiles"])
    audit.record(
        session,
        actor,
        "erase",
        "patient_account",
        account.id,
        detail={
            "reason": reason[:200],
            "profiles": profiles,
            "inbox": inbox,
            "outbox": outbox,
            "tracker_events": tracker,
        },
    )
    return True


def _erase_tracker(session: Session, conversation: str) -> int | None:
    """Delete the conversation's events from the Rasa tracker store if its table lives in this
    database (PostgreSQL deployments); None when it does not (it is then elsewhere)."""
    if not inspect(session.connection()).has_table(TRACKER_TABLE):
        return None
    gone = session.execute(delete(_tracker).where(_tracker.c.sender_id == conversation))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]
