"""Asking for a consultation: one per request, within the requester's access, consultants
picked from the roster (or the one named)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.adapters.media import StoredMedia
from bot.models import Consultation, Staff

from .. import audit


def request(
    session: Session,
    *,
    patient_id: int,
    catheter_id: int | None,
    complication_id: int | None,
    question: str,
    urgent: bool,
    actor: audit.Actor,
    now: datetime,
    tz: ZoneInfo,
    consultant_id: int | None = None,
) -> Consultation:
    """Record a consultation request (status REQUESTED) with its members: the requester
    (role "requester") and the consultants (role "consultant": ``consultant_id`` if given and
    a consultant may take it, else the roster's on-duty consultants at ``now``, else every
    active vascular expert of the home hospital). Raises ``access.NotVisible`` for a patient
    the requester may not see (audited "denied"), ``ConsultationError`` with a Chinese reason
    when nobody can be consulted or the question is empty. The same requester asking the same
    question about the same patient and catheter while the first is not closed gets the first
    one back (``request_key``), nothing new. Audited ("create"). The caller commits, then
    enqueues ``bot.jobs.queues.enqueue_consultation(conn, consultation.id)``."""
    raise NotImplementedError


def accepting_media(session: Session, staff_id: int, now: datetime) -> Consultation | None:
    """The consultation a photo / voice note / video this staff member sends in the app chat
    belongs to: their latest request, not closed, made within ``MEDIA_WINDOW_MINUTES`` (or
    whose latest media came within that window)."""
    raise NotImplementedError


def attach_media(
    session: Session,
    consultation: Consultation,
    stored: StoredMedia,
    kind: str,
    *,
    actor: audit.Actor,
    media_root: str,
) -> bool:
    """Keep a photo ("image"), voice note ("voice"), video ("video") or file ("file") with the
    consultation (once per content hash: False if it was there already). ``stored`` is already
    saved under MEDIA_ROOT (``MediaStore.fetch_inbound``). Refuses with ``ConsultationError``
    media over WeChat Work's limits (image 10 MB, voice 2 MB / AMR or SPEEX, video 10 MB MP4,
    file 20 MB), saying the limit. If the group chat is open already, the caller enqueues the
    posting job again so the new media reaches the group."""
    raise NotImplementedError


def add_member(
    session: Session, consultation: Consultation, staff: Staff, *, actor: audit.Actor
) -> bool:
    """Invite one more clinician (role "member"); the chat job adds them to the group chat
    (``appchat/update``). False if they were a member already. Only the requester, a consultant
    or an admin may add; ``ConsultationError`` otherwise."""
    raise NotImplementedError
