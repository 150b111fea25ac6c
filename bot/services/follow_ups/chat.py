"""The patient's reply to a check-in, in chat (A7.4): read against the dictionary's questions,
scored (the most worrying answer wins), and answered.

A reply that says something worrying (CONCERN or URGENT) goes to the responsible nurse in WeChat
Work, once, with the answers in words and the patient's words verbatim; URGENT also tells the
patient what to do now (the answers' advice). All clear → a short thank-you; partly answered and
all clear so far → only the missing questions are asked. Not understood → asked again once
(flag ``UNCLEAR`` while waiting), then passed to the nurse verbatim. "算了" → recorded as
declined (flag ``DECLINED``). A message that is about something else is left to the dialogue
(``answer`` returns None)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import FollowUp, PatientAccount, PatientProfile
from bot.models.enums import Channel, FollowUpStatus

from .. import notify
from . import answers as reading
from . import nurses, wording
from .sweeping import ANSWER_WINDOW, KEY_PREFIX

log = logging.getLogger(__name__)
UNCLEAR = "UNCLEAR"
DECLINED = "DECLINED"


@dataclass
class ChatOutcome:
    replies: list[dict[str, Any]]  # to the patient, in the turn
    outbox_ids: list[int] = field(default_factory=list)  # the nurse's notices: enqueue after commit
    follow_up_id: int = 0


def awaiting(session: Session, openid: str, now: datetime) -> FollowUp | None:
    """The oldest check-in sent to a patient of this account in the last 48 hours and not
    answered yet (several: the others wait their turn)."""
    return session.scalar(
        select(FollowUp)
        .join(PatientProfile, PatientProfile.patient_id == FollowUp.patient_id)
        .join(PatientAccount, PatientAccount.id == PatientProfile.account_id)
        .where(
            PatientAccount.openid == openid,
            FollowUp.status == FollowUpStatus.SENT,
            FollowUp.sent_at.is_not(None),
            FollowUp.sent_at >= now - ANSWER_WINDOW,
        )
        .order_by(FollowUp.sent_at, FollowUp.id)
        .limit(1)
        .with_for_update(of=FollowUp)
    )


def answer(
    session: Session,
    d: Dictionary,
    follow_up: FollowUp,
    text: str,
    now: datetime,
    *,
    in_form: Callable[[], bool] = lambda: False,
) -> ChatOutcome | None:
    """Handle ``text`` as the answer to ``follow_up`` (the check-in ``awaiting`` found); None
    when the text is about something else (the dialogue takes it, the check-in still waits):
    a request of another kind, or — while the dialogue has a form open (``in_form``, asked
    only then) — anything that is not clearly an answer, such as the date the form asked for."""
    questions = d.follow_up_questions
    found = reading.read(questions, text)
    if found.other or (not found.understood and in_form()):
        return None
    follow_up.free_text = f"{follow_up.free_text}\n{text}" if follow_up.free_text else text
    if found.declined:
        _close(follow_up, now, level=None, flags=[DECLINED])
        log.info("follow-up %s declined", follow_up.id)
        return ChatOutcome([{"text": wording.DECLINED}], follow_up_id=follow_up.id)
    if not found.understood:
        return _unclear(session, d, follow_up, now)
    merged = {**follow_up.answers, **found.answers}
    if found.all_clear:  # "都好": what was not said otherwise is fine
        for q in questions:
            merged.setdefault(q["code"], reading.ok_answer(q))
    follow_up.answers = merged
    level = reading.level_of(questions, merged)
    missing = [q["code"] for q in questions if q["code"] not in merged]
    if level == "OK" and missing:
        follow_up.flags = []  # understood now: asked again no more
        return ChatOutcome(
            [{"text": wording.ask_missing(questions, missing)}], follow_up_id=follow_up.id
        )
    _close(follow_up, now, level=level, flags=reading.flags_of(questions, merged))
    if level == "OK":
        return ChatOutcome([{"text": wording.THANKS_OK}], follow_up_id=follow_up.id)
    outbox_ids = _tell_nurse(session, d, follow_up, now, unclear=False)
    if level == "URGENT":
        advice = _advice(questions, merged)
        return ChatOutcome([{"text": wording.urgent(advice)}], outbox_ids, follow_up.id)
    return ChatOutcome([{"text": wording.THANKS_CONCERN}], outbox_ids, follow_up.id)


def next_one(session: Session, d: Dictionary, openid: str, now: datetime) -> str | None:
    """After a check-in is closed: the questions of the next one awaiting this account (an
    account acting for two patients with a line, a patient with two), so the person knows
    their next message answers that one; None when none awaits."""
    follow_up = awaiting(session, openid, now)
    if follow_up is None:
        return None
    catheter = follow_up.catheter
    device = d.label("device_types", catheter.device_type)
    return wording.next_check_in(d.follow_up_questions, catheter.patient.name, device)


def _unclear(session: Session, d: Dictionary, follow_up: FollowUp, now: datetime) -> ChatOutcome:
    """Not understood: asked again once, then the patient's words go to the nurse."""
    questions = d.follow_up_questions
    if UNCLEAR not in follow_up.flags:
        follow_up.flags = [*follow_up.flags, UNCLEAR]
        missing = [q["code"] for q in questions if q["code"] not in follow_up.answers]
        return ChatOutcome(
            [{"text": wording.ask_again(questions, missing)}], follow_up_id=follow_up.id
        )
    level = reading.level_of(questions, follow_up.answers)
    level = level if level == "URGENT" else "CONCERN"
    flags = [*reading.flags_of(questions, follow_up.answers), UNCLEAR]
    _close(follow_up, now, level=level, flags=flags)
    outbox_ids = _tell_nurse(session, d, follow_up, now, unclear=True)
    return ChatOutcome([{"text": wording.PASSED_ON}], outbox_ids, follow_up.id)


def _close(follow_up: FollowUp, now: datetime, *, level: str | None, flags: list[str]) -> None:
    follow_up.status = FollowUpStatus.ANSWERED
    follow_up.answered_at = now
    follow_up.level = level
    follow_up.flags = flags


def _advice(questions: Any, answers: dict[str, str]) -> list[str]:
    advice = []
    for q in questions:
        for a in q["answers"]:
            chosen = answers.get(q["code"]) == a["code"]
            if chosen and a.get("level") == "URGENT" and a.get("advice"):
                advice.append(str(a["advice"]))
    return advice or ["请尽快到医院静疗门诊或急诊就诊。"]


def _tell_nurse(
    session: Session, d: Dictionary, follow_up: FollowUp, now: datetime, *, unclear: bool
) -> list[int]:
    """The responsible nurse (else the institution's vascular experts) told once."""
    if follow_up.nurse_told_at is not None:
        return []
    catheter = follow_up.catheter
    userids = nurses.recipients(session, catheter)
    if not userids:
        log.warning("follow-up %s is worrying but nobody can be told in WeChat Work", follow_up.id)
        return []
    text = wording.to_nurse(
        d.follow_up_questions,
        level=follow_up.level or "CONCERN",
        name=catheter.patient.name,
        device=d.label("device_types", catheter.device_type),
        due=follow_up.due_on,
        answers=follow_up.answers,
        free_text=follow_up.free_text,
        unclear=unclear,
    )
    follow_up.nurse_told_at = now
    return [
        notify.text(session, Channel.WORK, userid, text, key=f"{KEY_PREFIX}{follow_up.id}:{userid}")
        for userid in userids
    ]
