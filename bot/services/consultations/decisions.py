"""What the clinicians decide: advice and the conclusion, closing, reopening, and the reminder
of consultations left without a conclusion.

Each function works in the caller's unit of work. Messages go to the outbox: after commit the
caller enqueues ``pending_sends`` (``enqueue_send``) and, for a consultation whose chat is not
open yet, ``enqueue_consultation`` (the chat job posts what the group has not had)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.models import Consultation, ConsultationNote, OutboxMessage, Staff
from bot.models.enums import Channel, ConsultationStatus, DeliveryStatus

from .. import access, audit, notify
from .. import complications as complication_service
from .. import dictionary as dictionary_service
from . import NOT_CLOSER, NOT_CONSULTANT, NOT_MEMBER, ConsultationError, chat, requests

log = logging.getLogger(__name__)

MAX_NOTE = 2000
STEP_KIND = "CONSULT"  # the dictionary's handling step for a consultation's conclusion


def _text(text: str, what: str) -> str:
    value = (text or "").strip()
    if not value:
        raise ConsultationError(f"请填写{what}内容。")
    if len(value) > MAX_NOTE:
        raise ConsultationError(f"{what}最多{MAX_NOTE}字，请精简后再提交。")
    return value


def record_note(
    session: Session,
    consultation: Consultation,
    text: str,
    *,
    conclusion: bool,
    actor: audit.Actor,
    now: datetime,
    base_url: str,
    context: str = "chat",
) -> ConsultationNote:
    """Advice (any member) or the conclusion (a consultant of this consultation only; anyone
    else → ``ConsultationError`` "只有本次会诊的会诊专家可以填写结论"). Not on a closed
    consultation. A conclusion sets ``conclusion``/``concluded_by_id``/``concluded_at`` and
    status CONCLUDED (a second conclusion replaces the first, both kept as notes), adds a
    handling step (kind "CONSULT") to the complication concerned, posts the note to the group
    chat (outbox ``chat:<chat_id>``), and asks the requester in the app to confirm the
    consultation can be closed (a text with the case-page link; the requester answers on the
    page or "会诊结束" in chat). Returns the note; the caller commits and enqueues
    ``pending_sends(session, consultation)``."""
    staff = access.staff_of(session, actor)
    if consultation.status is ConsultationStatus.CLOSED:
        raise ConsultationError("该会诊已结束，不能再填写。如需继续讨论，请先重新开启会诊。")
    role = requests.role_of(session, consultation, staff.id)
    if conclusion and role != "consultant":
        raise ConsultationError(NOT_CONSULTANT)
    if role is None:
        raise ConsultationError(NOT_MEMBER)
    what = "会诊结论" if conclusion else "会诊意见"
    note = ConsultationNote(
        consultation_id=consultation.id,
        staff_id=staff.id,
        kind="conclusion" if conclusion else "advice",
        text=_text(text, what),
        at=now,
    )
    session.add(note)
    session.flush()
    if conclusion:
        consultation.conclusion = note.text
        consultation.concluded_by_id = staff.id
        consultation.concluded_at = now
        consultation.status = ConsultationStatus.CONCLUDED
        _step(session, consultation, note, staff, actor)
        _ask_to_close(session, consultation, note, staff, base_url)
    if consultation.chat_id:
        body = chat.note_body(session, note)
        chat.to_chat(session, consultation.chat_id, body, key=chat.note_key(note))
    audit.record(
        session,
        actor,
        "conclude" if conclusion else "advise",
        "consultation",
        consultation.id,
        patient_id=consultation.patient_id,
        context=context,
        detail={"note_id": note.id},
    )
    session.expire(consultation, ["notes"])
    session.flush()
    return note


def _step(
    session: Session,
    consultation: Consultation,
    note: ConsultationNote,
    staff: Staff,
    actor: audit.Actor,
) -> None:
    """The conclusion on the complication's timeline (and so on the patient's record)."""
    if consultation.complication_id is None:
        return
    d = dictionary_service.current(session)
    try:
        complication_service.add_step(
            session,
            d,
            consultation.complication_id,
            text=f"会诊结论（{staff.name}，会诊{consultation.id}号）：{note.text}",
            kind=STEP_KIND if d.has_code("handling_steps", STEP_KIND) else None,
            actor=actor,
            idempotency_key=f"consultation-note-{note.id}",
            context="consultation",
        )
    except complication_service.ComplicationRefused as exc:
        # a complication closed meanwhile keeps its timeline; the consultation links it still
        log.info("consultation %s: conclusion not added as a step: %s", consultation.id, exc)


def _ask_to_close(
    session: Session,
    consultation: Consultation,
    note: ConsultationNote,
    staff: Staff,
    base_url: str,
) -> None:
    requester = session.get(Staff, consultation.requested_by_id)
    if requester is None or not requester.active or not requester.wecom_userid:
        return
    text = (
        f"您申请的会诊（{consultation.id}号：{consultation.title}）已有结论：\n{note.text}\n"
        f"——{staff.name}\n如问题已解决，请在病例页确认结束会诊，或在对话中回复“会诊结束”：\n"
        f"{chat.case_url(base_url, consultation)}"
    )
    key = f"consultation:{consultation.id}:confirm:{note.id}"
    notify.text(session, Channel.WORK, requester.wecom_userid, text, key=key)


def pending_sends(session: Session, consultation: Consultation) -> list[int]:
    """The consultation's outbox rows not sent yet (notes to the group, people asked): what
    the caller enqueues after commit."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.dedupe_key.like(f"consultation:{consultation.id}:%"),
                OutboxMessage.status == DeliveryStatus.PENDING,
            )
            .order_by(OutboxMessage.id)
        )
    )


def _may_close(session: Session, consultation: Consultation, staff_id: int | None) -> bool:
    """An admin at any time; the requester once there is a conclusion."""
    if requests.is_admin(session, staff_id):
        return True
    role = requests.role_of(session, consultation, staff_id)
    return role == "requester" and bool(consultation.conclusion)


def close(
    session: Session, consultation: Consultation, *, actor: audit.Actor, now: datetime
) -> bool:
    """Close (the requester once there is a conclusion, or an admin at any time; anyone else
    → ``ConsultationError``). False if closed already. Clears ``request_key`` so
    the same question may be asked again later. Posts "会诊已结束" to the group."""
    if consultation.status is ConsultationStatus.CLOSED:
        return False
    if not _may_close(session, consultation, actor.id):
        if requests.role_of(session, consultation, actor.id) == "requester":
            raise ConsultationError("会诊专家尚未填写结论，暂不能结束会诊；如需撤销请联系管理员。")
        raise ConsultationError(NOT_CLOSER)
    consultation.status = ConsultationStatus.CLOSED
    consultation.closed_at, consultation.closed_by_id = now, actor.id
    consultation.request_key = None
    who = session.scalar(select(Staff.name).where(Staff.id == actor.id)) or ""
    _to_group(
        session, consultation, f"【会诊已结束】{who}确认本次会诊结束，感谢各位专家。", "close"
    )
    _audit(session, consultation, actor, "close")
    return True


def reopen(
    session: Session, consultation: Consultation, *, actor: audit.Actor, now: datetime
) -> bool:
    """Reopen a closed consultation (the requester, a consultant or an admin): CONCLUDED if
    it has a conclusion, else OPEN (REQUESTED without a chat). False if it was not closed."""
    role = requests.role_of(session, consultation, actor.id)
    if role not in ("requester", "consultant") and not requests.is_admin(session, actor.id):
        raise ConsultationError("只有会诊申请人、会诊专家或管理员可以重新开启会诊。")
    if consultation.status is not ConsultationStatus.CLOSED:
        return False
    if consultation.conclusion:
        consultation.status = ConsultationStatus.CONCLUDED
    elif consultation.chat_id:
        consultation.status = ConsultationStatus.OPEN
    else:
        consultation.status = ConsultationStatus.REQUESTED
    consultation.closed_at = consultation.closed_by_id = None
    _to_group(session, consultation, "【会诊重新开启】请继续讨论。", "reopen")
    _audit(session, consultation, actor, "reopen")
    return True


def _to_group(session: Session, consultation: Consultation, text: str, event: str) -> None:
    """A status message for the group, keyed by a counter of the consultation's status
    messages (close then reopen within a second are two messages)."""
    if consultation.chat_id:
        prefix = f"consultation:{consultation.id}:status:"
        count = session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like(f"{prefix}%"))
        )
        key = f"{prefix}{(count or 0) + 1}:{event}"
        body = {"msgtype": "text", "text": {"content": text}}
        chat.to_chat(session, consultation.chat_id, body, key=key)


def _audit(session: Session, consultation: Consultation, actor: audit.Actor, action: str) -> None:
    audit.record(
        session,
        actor,
        action,
        "consultation",
        consultation.id,
        patient_id=consultation.patient_id,
        context="consultation",
    )
    session.flush()


def unconcluded(session: Session, now: datetime, *, hours: int, base_url: str) -> list[int]:
    """Consultations OPEN for more than ``hours`` without a conclusion, not reminded within the
    last ``hours``: remind their consultants in the app (outbox, one per consultation and
    period) and stamp ``reminded_at``. The outbox ids to enqueue."""
    limit = now - timedelta(hours=hours)
    found = session.scalars(
        select(Consultation)
        .where(
            Consultation.status == ConsultationStatus.OPEN,
            Consultation.opened_at <= limit,
            or_(Consultation.reminded_at.is_(None), Consultation.reminded_at <= limit),
        )
        .order_by(Consultation.id)
    ).all()
    ids: list[int] = []
    for consultation in found:
        assert consultation.opened_at is not None
        period = int((now - consultation.opened_at) / timedelta(hours=hours))
        waited = int((now - consultation.opened_at) / timedelta(hours=1))
        text = (
            f"【会诊待结论】会诊{consultation.id}号（{consultation.title}）已开启{waited}小时，"
            f"尚无会诊结论。请在会诊群讨论后填写结论：\n{chat.case_url(base_url, consultation)}"
        )
        for member, staff in chat.people(session, consultation):
            if member.role != "consultant" or not staff.active or not staff.wecom_userid:
                continue
            key = f"consultation:{consultation.id}:remind:{period}:{staff.id}"
            ids.append(notify.text(session, Channel.WORK, staff.wecom_userid, text, key=key))
        consultation.reminded_at = now
    session.flush()
    return ids
