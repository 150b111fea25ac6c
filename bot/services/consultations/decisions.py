"""What the clinicians decide: advice and the conclusion, closing, reopening, and the reminder
of consultations left without a conclusion."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import Consultation, ConsultationNote

from .. import audit


def record_note(
    session: Session,
    consultation: Consultation,
    text: str,
    *,
    conclusion: bool,
    actor: audit.Actor,
    now: datetime,
    base_url: str,
) -> ConsultationNote:
    """Advice (any member) or the conclusion (a consultant of this consultation only; anyone
    else → ``ConsultationError`` "只有本次会诊的会诊专家可以填写结论"). Not on a closed
    consultation. A conclusion sets ``conclusion``/``concluded_by_id``/``concluded_at`` and
    status CONCLUDED (a second conclusion replaces the first, both kept as notes), adds a
    handling step (kind "CONSULT") to the complication concerned, posts the note to the group
    chat (outbox ``chat:<chat_id>``), and asks the requester in the app to confirm the
    consultation can be closed (a text with the case-page link; the requester answers on the
    page or "会诊结束" in chat). Returns the note; the caller commits and enqueues the
    returned outbox ids (``outbox_ids`` attribute on the note is not stored: see
    ``pending_sends``)."""
    raise NotImplementedError


def close(
    session: Session, consultation: Consultation, *, actor: audit.Actor, now: datetime
) -> bool:
    """Close (the requester, or an admin). False if closed already. Clears ``request_key`` so
    the same question may be asked again later. Posts "会诊已结束" to the group."""
    raise NotImplementedError


def unconcluded(session: Session, now: datetime, *, hours: int, base_url: str) -> list[int]:
    """Consultations OPEN for more than ``hours`` without a conclusion, not reminded within the
    last ``hours``: remind their consultants in the app (outbox, one per consultation and
    period) and stamp ``reminded_at``. The outbox ids to enqueue."""
    raise NotImplementedError
