"""What clinicians write about their consultations in the app chat, read before the dialogue
(like a patient's follow-up answers): "会诊结论：…" / "12号会诊结论：…" (a consultant's
conclusion), "会诊意见：…" / "意见：…" (advice), "会诊结束" / "结束会诊" / "可以结束了" (the
requester closes). These must work whatever the intent model makes of them, so they never
reach it; a message that is none of these, or a vague one ("意见：…", "可以结束了") from someone
with no consultation it could belong to, is left to the dialogue (``answer`` returns None)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Consultation, ConsultationMember, Staff
from bot.models.enums import ActorType, ConsultationStatus

from .. import audit
from . import NOT_CONSULTANT, STATUS_LABELS, ConsultationError, decisions

CONCLUSION, ADVICE, CLOSE = "conclusion", "advice", "close"
NOT_REQUESTER = "只有会诊申请人可以结束会诊。"

_NUMBER = r"(?:第?\s*#?\s*([0-9０-９]{1,9})\s*号?\s*)?"
_NOTE = re.compile(rf"^\s*{_NUMBER}(会诊)?\s*(结论|意见)\s*[:：]\s*(.*)$", re.S)
_CLOSE = re.compile(
    rf"^\s*{_NUMBER}(会诊结束|结束会诊|会诊可以结束了?|可以结束(?:会诊)?了?)\s*[吧啦]?\s*[。.!！~～]*\s*$"
)


@dataclass(frozen=True)
class Words:
    kind: str  # CONCLUSION / ADVICE / CLOSE
    text: str  # the note as written (empty for CLOSE)
    number: int | None  # the case number named ("12号会诊结论")
    explicit: bool  # says 会诊 (or a number): answered even when nothing fits


def read(text: str) -> Words | None:
    """The consultation words of a message, or None. Pure: no database."""
    if m := _NOTE.match(text):
        number = _int(m.group(1))
        kind = CONCLUSION if m.group(3) == "结论" else ADVICE
        explicit = bool(m.group(2) or number is not None)
        if kind == CONCLUSION and not explicit:
            return None  # "结论：…" alone is too common a word (a report's conclusion)
        return Words(kind, m.group(4).strip(), number, explicit)
    if m := _CLOSE.match(text):
        number = _int(m.group(1))
        return Words(CLOSE, "", number, "会诊" in m.group(2) or number is not None)
    return None


def _int(digits: str | None) -> int | None:
    return int(unicodedata.normalize("NFKC", digits)) if digits else None


@dataclass
class Outcome:
    replies: list[dict[str, Any]]
    # rows the service wrote to the outbox (the group, the requester): enqueue after commit
    outbox_ids: list[int] = field(default_factory=list)
    consultation_id: int | None = None  # its group chat is not open yet: run the chat job


def answer(
    session: Session, staff_id: int, text: str, now: datetime, *, base_url: str
) -> Outcome | None:
    """Handle ``text`` if it is consultation words of this staff member (see the module)."""
    words = read(text)
    if words is None:
        return None
    staff = session.get(Staff, staff_id)
    if staff is None:
        return None
    taking_part = _taking_part(session, staff_id)
    if not words.explicit and not taking_part:
        return None
    if words.number is not None:
        chosen = [(c, r) for c, r in taking_part if c.id == words.number]
        if not chosen:
            return _say(f"没有找到您参与的第{words.number}号会诊（或该会诊已结束）。")
    elif words.kind == CLOSE:
        chosen = [(c, r) for c, r in taking_part if r == "requester"]
        if not chosen and not words.explicit:
            return None
        if not chosen and taking_part:  # a consultant or member: not theirs to close
            return _say(NOT_REQUESTER + "如问题已解决，请提醒申请人在会诊页面确认结束。")
    elif words.kind == CONCLUSION:
        chosen = [(c, r) for c, r in taking_part if r == "consultant"]
        if not chosen and taking_part:
            return _say(NOT_CONSULTANT)
    else:
        chosen = taking_part
    if not chosen:
        return _say("您目前没有进行中的会诊。如需申请，请发送“请求会诊”。")
    chosen = _narrowed(chosen, words.kind)
    if len(chosen) > 1:
        return _say(_which(words, [c for c, _ in chosen]))
    consultation, role = chosen[0]
    actor = audit.Actor(ActorType.STAFF, staff_id)
    try:
        if words.kind == CLOSE:
            return _close(session, consultation, role, actor, now, base_url)
        return _note(session, consultation, words, actor, now, base_url)
    except ConsultationError as exc:
        return _say(str(exc))


def _taking_part(session: Session, staff_id: int) -> list[tuple[Consultation, str]]:
    """The consultations this person takes part in that are not closed, oldest first."""
    rows = session.execute(
        select(Consultation, ConsultationMember.role)
        .join(ConsultationMember, ConsultationMember.consultation_id == Consultation.id)
        .where(
            ConsultationMember.staff_id == staff_id,
            Consultation.status != ConsultationStatus.CLOSED,
        )
        .order_by(Consultation.id)
    ).all()
    return [(c, role) for c, role in rows]


def _narrowed(chosen: list[tuple[Consultation, str]], kind: str) -> list[tuple[Consultation, str]]:
    """A conclusion goes to one still without a conclusion, a close to one concluded, when
    that makes the choice obvious."""
    concluded = [x for x in chosen if x[0].status is ConsultationStatus.CONCLUDED]
    waiting = [x for x in chosen if x[0].status is not ConsultationStatus.CONCLUDED]
    preferred = concluded if kind == CLOSE else waiting
    return preferred or chosen


def _which(words: Words, consultations: list[Consultation]) -> str:
    example = {CONCLUSION: "会诊结论：……", ADVICE: "会诊意见：……", CLOSE: "会诊结束"}[words.kind]
    lines = [f"{c.id}号 {c.title}（{STATUS_LABELS[c.status]}）" for c in consultations[:10]]
    return (
        f"您有{len(consultations)}个进行中的会诊，请注明编号，"
        f"例如“{consultations[0].id}号{example}”：\n" + "\n".join(lines)
    )


def _note(
    session: Session,
    consultation: Consultation,
    words: Words,
    actor: audit.Actor,
    now: datetime,
    base_url: str,
) -> Outcome:
    what = "结论" if words.kind == CONCLUSION else "意见"
    if not words.text:
        return _say(f"请在“会诊{what}：”后写上{what}内容。")
    decisions.record_note(
        session,
        consultation,
        words.text,
        conclusion=words.kind == CONCLUSION,
        actor=actor,
        now=now,
        base_url=base_url,
    )
    where = (
        f"将发到会诊群“{consultation.chat_name}”"
        if consultation.chat_id
        else "会诊群建立后将发到群里"
    )
    said = f"已记录第{consultation.id}号会诊的{what}：{words.text}\n{where}。"
    if words.kind == CONCLUSION:
        requester = session.get(Staff, consultation.requested_by_id)
        if requester is not None and requester.active and requester.wecom_userid:
            said += "已请申请人确认结束会诊。"
        else:  # no WeChat Work account to ask: the case page is where it is closed
            said += "申请人可在会诊页面确认结束会诊。"
    return _done(session, consultation, said)


def _close(
    session: Session,
    consultation: Consultation,
    role: str,
    actor: audit.Actor,
    now: datetime,
    base_url: str,
) -> Outcome:
    page = f"{base_url}/staff/consultations/{consultation.id}"
    if role != "requester":
        return _say(f"{NOT_REQUESTER}会诊页面：{page}")
    if consultation.status is not ConsultationStatus.CONCLUDED:
        return _say(
            f"第{consultation.id}号会诊还没有结论，暂不能结束。请等待会诊专家给出结论；"
            f"会诊页面：{page}"
        )
    closed = decisions.close(session, consultation, actor=actor, now=now)
    said = (
        f"第{consultation.id}号会诊已结束，结论已记入患者档案。" if closed else "该会诊已经结束。"
    )
    return _done(session, consultation, said)


def _done(session: Session, consultation: Consultation, said: str) -> Outcome:
    """The reply, the outbox rows to send, and the chat job when the group is not open yet
    (it posts what the group has not had once it is)."""
    session.flush()
    return Outcome(
        [{"text": said}],
        decisions.pending_sends(session, consultation),
        None if consultation.chat_id else consultation.id,
    )


def _say(text: str) -> Outcome:
    return Outcome([{"text": text}])
