"""What people see of consultations: the "我的会诊" list and the case page's facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import Consultation, Staff


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


def mine(session: Session, staff: Staff, *, limit: int = 50) -> list[Line]:
    """Consultations this staff member requested or takes part in: not closed first (oldest
    request first), then closed (newest first). An outside clinician sees only these."""
    raise NotImplementedError
