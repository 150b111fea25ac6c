"""The nurse's follow-up lists (A7.4): today's check-ins across patients ("今日随访", beside
"今日待维护"), and one catheter's check-ins for its page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Catheter, FollowUp, Patient, Staff
from bot.models.enums import ActorType, FollowUpStatus

from .. import access, audit
from .. import dictionary as dictionary_service
from . import wording

RECENT_DAYS = 7  # unanswered and worrying check-ins stay on the list this long
LIMIT = 500


@dataclass(frozen=True)
class FollowUpView:
    id: int
    catheter_id: int
    patient_id: int
    patient_name: str
    device: str
    due_on: date
    status: str  # FollowUpStatus value
    level: str | None
    flags: tuple[str, ...]
    answers: tuple[str, ...]  # in words
    free_text: str | None
    sent_at: datetime | None
    answered_at: datetime | None

    @property
    def status_label(self) -> str:
        if self.status == FollowUpStatus.SENT and self.sent_at is None:
            return wording.HELD
        if "DECLINED" in self.flags:
            return "已拒答"
        return wording.STATUS_LABELS.get(self.status, self.status)

    @property
    def level_label(self) -> str:
        return wording.LEVEL_LABELS.get(self.level or "", "")

    @property
    def notes(self) -> list[str]:
        """The flags that say what to do (red flags are in the answers already)."""
        return [wording.FLAG_LABELS[f] for f in self.flags if f in wording.FLAG_LABELS]


def today_list(
    session: Session,
    d: Dictionary,
    today: date,
    *,
    actor: audit.Actor,
    institution_id: int | None = None,
) -> list[FollowUpView]:
    """Check-ins due today, those awaiting an answer, and those of the last week that went
    unanswered, were declined or worrying — worrying first; within the access rules, the read
    audited."""
    since = today - timedelta(days=RECENT_DAYS)
    needs_a_nurse = or_(
        FollowUp.status.in_([FollowUpStatus.SENT, FollowUpStatus.NO_ANSWER]),
        FollowUp.level.in_(["CONCERN", "URGENT"]),
        FollowUp.level.is_(None) & (FollowUp.status == FollowUpStatus.ANSWERED),
    )
    query = _query(d).where(
        or_(FollowUp.due_on == today, (FollowUp.due_on >= since) & needs_a_nurse),
        FollowUp.status != FollowUpStatus.STOPPED,
    )
    staff = session.get(Staff, actor.id) if actor.type is ActorType.STAFF else None
    if staff is not None:
        query = query.where(access.visible_patients_clause(staff))
    if institution_id is not None:
        query = query.where(Catheter.institution_id == institution_id)
    # the database orders (and cuts) by the same rank the entries show
    rank = case(
        (FollowUp.level == "URGENT", 0),
        (FollowUp.level == "CONCERN", 1),
        (FollowUp.status == FollowUpStatus.NO_ANSWER, 2),
        # declined: the only way a check-in is answered without a level
        ((FollowUp.status == FollowUpStatus.ANSWERED) & FollowUp.level.is_(None), 3),
        (FollowUp.status == FollowUpStatus.SENT, 4),
        else_=5,
    )
    query = query.order_by(None).order_by(rank, FollowUp.due_on, FollowUp.id).limit(LIMIT)
    views = [_view(d, row) for row in session.execute(query)]
    audit.record(
        session,
        actor,
        "read",
        "follow_up_list",
        None,
        context="follow_ups_today",
        detail={
            "patients": sorted({v.patient_id for v in views}),
            "institution_id": institution_id,
        },
    )
    return views


def for_catheter(
    session: Session, catheter_id: int, d: Dictionary | None = None
) -> list[FollowUpView]:
    """A catheter's check-ins, newest first, for its page (whose read is audited there)."""
    d = d or dictionary_service.current(session)
    query = _query(d).where(FollowUp.catheter_id == catheter_id)
    rows = session.execute(query.order_by(FollowUp.due_on.desc(), FollowUp.id.desc()))
    return [_view(d, row) for row in rows]


def _query(d: Dictionary) -> Any:
    return (
        select(FollowUp, Patient.name, Catheter.device_type)
        .join(Catheter, Catheter.id == FollowUp.catheter_id)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .order_by(FollowUp.id)
    )


def _view(d: Dictionary, row: Any) -> FollowUpView:
    f, name, device = row
    return FollowUpView(
        id=f.id,
        catheter_id=f.catheter_id,
        patient_id=f.patient_id,
        patient_name=name,
        device=d.label("device_types", device),
        due_on=f.due_on,
        status=FollowUpStatus(f.status).value,
        level=f.level,
        flags=tuple(f.flags or ()),
        answers=tuple(wording.answers_in_words(d.follow_up_questions, f.answers or {})),
        free_text=f.free_text,
        sent_at=f.sent_at,
        answered_at=f.answered_at,
    )
