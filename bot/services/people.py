"""Who sent a message: a patient account (official account) or a staff member (WeChat Work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import PatientAccount, PatientProfile, Staff
from bot.models.enums import Channel

from .binding import pending_agreements


@dataclass(frozen=True)
class Sender:
    channel: Channel
    user: str  # openid or WeChat Work userid
    role: str  # patient | nurse | doctor | outside_clinician | admin | unknown
    account_id: int | None = None
    staff_id: int | None = None
    metadata: dict[str, Any] | None = None


def resolve(session: Session, channel: Channel, user: str, now: datetime) -> Sender:
    """Find (or, for a new follower, create) the person behind a message.

    A new openid gets an account at once so that nothing it sends is lost before binding;
    every inbound message re-opens WeChat's 48-hour customer-service window.
    """
    if channel is Channel.MP:
        account = session.scalar(select(PatientAccount).where(PatientAccount.openid == user))
        first_contact = account is None or account.last_inbound_at is None
        if account is None:
            account = PatientAccount(openid=user, subscribed=True)
            session.add(account)
            session.flush()
        account.last_inbound_at = now
        active_patient = None
        if account.active_profile_id:
            profile = session.get(PatientProfile, account.active_profile_id)
            active_patient = profile.patient_id if profile else None
        bound = account.ih_user_id is not None
        meta = {
            "channel": "mp",
            "role": "patient",
            "account_id": account.id,
            "bound": bound,
            "active_patient_id": active_patient,
            "first_contact": first_contact,
            # a bound account must accept a newly published version before the next use
            # (A5.1); an unbound one accepts on the way to binding
            "agreements_pending": bound and bool(pending_agreements(session, account.id)),
        }
        return Sender(channel, user, "patient", account_id=account.id, metadata=meta)
    staff = session.scalar(select(Staff).where(Staff.wecom_userid == user, Staff.active.is_(True)))
    if staff is None:
        meta = {"channel": "work", "role": "unknown", "staff_id": None}
        return Sender(channel, user, "unknown", metadata=meta)
    meta = {
        "channel": "work",
        "role": staff.role.value,
        "staff_id": staff.id,
        "institution_id": staff.institution_id,
        "department_id": staff.department_id,
    }
    return Sender(channel, user, staff.role.value, staff_id=staff.id, metadata=meta)


def mark_unsubscribed(session: Session, openid: str) -> None:
    account = session.scalar(select(PatientAccount).where(PatientAccount.openid == openid))
    if account is not None:
        account.subscribed = False
