"""The follow-up sweep (A7.4): on each follow-up date a check-in to the patient, one reminder
after 24 hours without an answer, then the nurse's list and one WeChat Work notice.

Set-based like the reminder sweep: one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` writes the
check-ins of every catheter in place whose follow-up is due (unique key catheter, due date), and
bulk UPDATEs move each catheter's next follow-up a cycle on; only the messages are rendered in
Python, a page at a time. A check-in is written with ``sent_at`` NULL and gets it when its
outbox rows are written (dedupe key ``follow_up:{id}:{account}``): one still unsent — the
patient's quiet hours, or a crash — is sent by a later sweep. A patient with no followed
account goes straight to the nurse's list (``no_answer``, flag ``NO_FOLLOWER``)."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    FollowUp,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
)
from bot.models.enums import CatheterState, Channel, DeliveryStatus, FollowUpStatus

from .. import notify, sql_words
from ..reminders import ANALYZE_AFTER, in_quiet_hours
from ..reminders.common import dialect, insert_into
from ..reminders.delivery import OUTBOX_COLUMNS, WeChatFallback, device_label
from . import nurses, wording

KEY_PREFIX = "follow_up:"
REMIND_AFTER = timedelta(hours=24)  # without an answer: one reminder
GIVE_UP_AFTER = timedelta(hours=24)  # after the reminder: the nurse's list
ANSWER_WINDOW = timedelta(hours=48)  # a check-in sent longer ago no longer takes answers
NO_FOLLOWER = "NO_FOLLOWER"
NAMES_IN_NOTICE = 10
_COLUMNS = ["catheter_id", "patient_id", "due_on", "status", "answers", "flags", "created_at"]


@dataclass
class SweepResult:
    created: int = 0
    to_nurse_list: int = 0  # written straight to the list: no followed account
    sent: int = 0  # check-ins whose messages were written
    reminded: int = 0
    no_answer: int = 0
    outbox_ids: list[int] = field(default_factory=list)  # enqueue after commit


def sweep(
    session: Session,
    d: Dictionary,
    now: datetime,
    tz: ZoneInfo,
    *,
    public_base_url: str,
    reminder_api: str = "subscribe",
    reminder_template: str = "",
) -> SweepResult:
    """Write the check-ins due at ``now`` and move the catheters' follow-up dates on; send the
    check-ins and reminders that may go now (not in the patient's quiet hours); put those left
    unanswered on the nurse's list. The outbox ids in the result are to enqueue after commit."""
    today = rules.local_date(now, tz)
    result = SweepResult()
    result.created, result.to_nurse_list = _create(session, d, today, now)
    if result.created >= ANALYZE_AFTER and dialect(session) == "postgresql":
        # the planner's statistics do not know the rows just written (as in the reminder sweep)
        session.execute(sql_text("ANALYZE follow_ups"))
    _advance(session, d, today)
    _lost_follower(session)
    fallback = WeChatFallback(reminder_api, reminder_template, public_base_url)
    local = now.astimezone(tz)
    unsent = and_(FollowUp.status == FollowUpStatus.SENT, FollowUp.sent_at.is_(None))
    result.sent = _send(session, d, now, local, unsent, "check_in", result, fallback)
    silent = and_(
        FollowUp.status == FollowUpStatus.SENT,
        FollowUp.sent_at <= now - REMIND_AFTER,
        FollowUp.reminded_at.is_(None),
    )
    result.reminded = _send(session, d, now, local, silent, "reminder", result, fallback)
    result.no_answer = _give_up(session, now, public_base_url, result)
    return result


def _has_plan(d: Dictionary) -> Any:
    tiers = [code for code, t in d.tiers.items() if t.follow_up_days]
    return or_(Catheter.follow_up_cycle_days.is_not(None), Catheter.tier.in_(tiers))


def _due(today: date) -> Any:
    return and_(
        Catheter.state == CatheterState.IN_PLACE,
        Catheter.next_follow_up_on.is_not(None),
        Catheter.next_follow_up_on <= today,
    )


def _follower(patient_id: Any) -> Any:
    return exists().where(
        PatientProfile.patient_id == patient_id,
        PatientAccount.id == PatientProfile.account_id,
        PatientAccount.subscribed.is_(True),
    )


def _create(session: Session, d: Dictionary, today: date, now: datetime) -> tuple[int, int]:
    """One INSERT … SELECT writes the missing check-ins; (written, of them to the list)."""
    table = FollowUp.__table__
    status_type, json_type = table.c.status.type, table.c.flags.type
    follower = _follower(Catheter.patient_id)
    written = exists().where(
        FollowUp.catheter_id == Catheter.id, FollowUp.due_on == Catheter.next_follow_up_on
    )
    rows = (
        select(
            Catheter.id,
            Catheter.patient_id,
            Catheter.next_follow_up_on,
            case(
                (follower, literal(FollowUpStatus.SENT, status_type)),
                else_=literal(FollowUpStatus.NO_ANSWER, status_type),
            ),
            literal({}, table.c.answers.type),
            case((follower, literal([], json_type)), else_=literal([NO_FOLLOWER], json_type)),
            literal(now, table.c.created_at.type),
        )
        .where(_due(today), _has_plan(d), ~written)
        .order_by(Catheter.id)  # concurrent sweeps take the keys in the same order
    )
    stmt = (
        insert_into(session, table)
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["catheter_id", "due_on"])
        .returning(table.c.id, table.c.status)
    )
    written_rows = session.execute(stmt).all()
    listed = sum(1 for _, status in written_rows if status == FollowUpStatus.NO_ANSWER)
    return len(written_rows), listed


def _advance(session: Session, d: Dictionary, today: date) -> None:
    """The due catheters' next follow-up: today + their cycle (custom, else the tier's), or
    none when their plan has none. One UPDATE per distinct cycle."""
    due = _due(today)
    custom = session.scalars(
        select(Catheter.follow_up_cycle_days)
        .distinct()
        .where(due, Catheter.follow_up_cycle_days.is_not(None))
    ).all()
    for days in custom:
        _set_next(session, and_(due, Catheter.follow_up_cycle_days == days), today, days)
    standard = and_(due, Catheter.follow_up_cycle_days.is_(None))
    for code, tier in d.tiers.items():
        _set_next(session, and_(standard, Catheter.tier == code), today, tier.follow_up_days)
    _set_next(session, and_(standard, Catheter.tier.not_in(list(d.tiers))), today, None)


def _set_next(session: Session, where: Any, today: date, days: int | None) -> None:
    session.execute(
        update(Catheter)
        .where(where)
        .values(next_follow_up_on=today + timedelta(days=days) if days else None)
        .execution_options(synchronize_session=False)
    )


def _lost_follower(session: Session) -> None:
    """An unsent check-in whose patient no longer follows the account goes to the list."""
    session.execute(
        update(FollowUp)
        .where(
            FollowUp.status == FollowUpStatus.SENT,
            FollowUp.sent_at.is_(None),
            ~_follower(FollowUp.patient_id),
        )
        .values(status=FollowUpStatus.NO_ANSWER, flags=[NO_FOLLOWER])
        .execution_options(synchronize_session=False)
    )


def _not_quiet(session: Session, which: Any, local: datetime) -> Any:
    """A condition on ``Patient``: not in their quiet hours at ``local`` — one term per
    distinct pair of quiet hours among the patients of the follow-ups ``which``."""
    pairs = session.execute(
        select(Patient.quiet_start, Patient.quiet_end)
        .distinct()
        .join(FollowUp, FollowUp.patient_id == Patient.id)
        .where(which)
    ).all()
    quiet = [
        and_(Patient.quiet_start == s, Patient.quiet_end == e)
        for s, e in pairs
        if in_quiet_hours(local, s, e) is not None
    ]
    return not_(or_(*quiet)) if quiet else true()


def _send(
    session: Session,
    d: Dictionary,
    now: datetime,
    local: datetime,
    which: Any,
    kind: str,
    result: SweepResult,
    fallback: WeChatFallback,
) -> int:
    """The outbox rows of the follow-ups ``which`` (a check-in or its reminder) to every
    followed account of the patient, worded by the database in one INSERT … SELECT (dedupe
    key ``follow_up:{id}:{account}``; a concurrent sweep's are left out by ON CONFLICT); the
    follow-ups are then marked sent (``sent_at``) or reminded (``reminded_at``). Patients in
    their quiet hours wait for a later sweep. The number of follow-ups sent."""
    sendable = and_(
        which,
        Catheter.state == CatheterState.IN_PLACE,
        _not_quiet(session, which, local),
    )
    rows = (
        select(*_outbox_columns(session, d, kind, now, fallback))
        .select_from(FollowUp)
        .join(Catheter, Catheter.id == FollowUp.catheter_id)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .join(PatientProfile, PatientProfile.patient_id == FollowUp.patient_id)
        .join(PatientAccount, PatientAccount.id == PatientProfile.account_id)
        .where(sendable, PatientAccount.subscribed.is_(True))
        .order_by(FollowUp.id, PatientAccount.id)
    )
    table = OutboxMessage.__table__
    stmt = (
        insert_into(session, table)
        .from_select(OUTBOX_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    result.outbox_ids += list(session.execute(stmt).scalars())
    done = (
        select(FollowUp.id)
        .join(Catheter, Catheter.id == FollowUp.catheter_id)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .where(sendable, _follower(FollowUp.patient_id))
    )
    column = "sent_at" if kind == "check_in" else "reminded_at"
    marked = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(done))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return int(marked.rowcount or 0)  # type: ignore[attr-defined]


def _outbox_columns(
    session: Session, d: Dictionary, kind: str, now: datetime, fallback: WeChatFallback
) -> list[Any]:
    """The outbox columns (``OUTBOX_COLUMNS``) of a check-in or reminder, in SQL: a text to
    the follower, with the subscribe or template message to send instead when the 48-hour
    customer-service window is closed (``WeChatFallback``'s fields)."""
    name = dialect(session)
    table = OutboxMessage.__table__
    device = device_label(d)
    template = wording.CHECK_IN if kind == "check_in" else wording.REMINDER
    values = {
        "name": Patient.name,
        "device": device,
        "asked": wording.numbered(d.follow_up_questions),
    }
    text = sql_words.render(
        template, {k: literal(v) if isinstance(v, str) else v for k, v in values.items()}
    )
    link = "page" if fallback.api == "subscribe" else "url"
    obj = functools.partial(sql_words.json_object, name)
    fields = obj(
        "thing1",
        obj("value", func.substr(device, 1, 20)),
        "time2",
        obj("value", _full_date(name, FollowUp.due_on)),
        "thing3",
        obj("value", literal(wording.TITLES[kind])),
    )
    backup = obj(
        "_api",
        literal(fallback.api),
        "template_id",
        literal(fallback.template_id or "reminder"),
        link,
        literal(f"{fallback.base_url}/h5/home"),
        "data",
        fields,
    )
    payload = obj("msgtype", literal("text"), "text", obj("content", text), "_fallback", backup)
    suffix = "" if kind == "check_in" else ":reminder"
    key = (
        literal(KEY_PREFIX)
        + cast(FollowUp.id, String)
        + literal(":")
        + cast(PatientAccount.id, String)
        + literal(suffix)
    )
    return [
        key,
        literal(Channel.MP, table.c.channel.type),
        PatientAccount.openid,
        literal("text"),
        payload,
        literal(DeliveryStatus.PENDING, table.c.status.type),
        literal(0),
        literal(now, table.c.created_at.type),
    ]


def _full_date(dialect_name: str, day: Any) -> Any:
    """A date as ``f"{day:%Y年%m月%d日}"`` does it."""
    if dialect_name == "postgresql":
        return func.to_char(day, 'YYYY"年"MM"月"DD"日"')
    return func.strftime("%Y年%m月%d日", day)


def _give_up(session: Session, now: datetime, base_url: str, result: SweepResult) -> int:
    """Check-ins still silent 24 hours after their reminder (or when answers are no longer
    taken, ``ANSWER_WINDOW`` after the check-in, should quiet hours have held the reminder): on
    the nurse's list, and each nurse told once, in one message per sweep naming their patients.
    The number moved."""
    silent = and_(
        FollowUp.status == FollowUpStatus.SENT,
        FollowUp.reminded_at.is_not(None),
        or_(
            FollowUp.reminded_at <= now - GIVE_UP_AFTER,
            FollowUp.sent_at <= now - ANSWER_WINDOW,
        ),
    )
    rows = session.execute(
        select(FollowUp.id, Patient.name, Catheter.responsible_staff_id, Catheter.institution_id)
        .join(Patient, Patient.id == FollowUp.patient_id)
        .join(Catheter, Catheter.id == FollowUp.catheter_id)
        .where(silent)
        .order_by(FollowUp.id)
    ).all()
    who = nurses.Recipients(session)
    by_nurse: dict[str, list[str]] = defaultdict(list)
    for _, name, staff_id, institution_id in rows:
        for userid in who.of(staff_id, institution_id):
            by_nurse[userid].append(name)
    session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_([r.id for r in rows]))
        .values(status=FollowUpStatus.NO_ANSWER, nurse_told_at=now)
        .execution_options(synchronize_session=False)
    )
    link = f"{base_url}/staff/follow-ups"
    for userid, names in by_nurse.items():
        text = wording.no_answer(names[:NAMES_IN_NOTICE], len(names), link)
        key = f"{KEY_PREFIX}no_answer:{userid}:{now.isoformat()}"
        result.outbox_ids.append(notify.text(session, Channel.WORK, userid, text, key=key))
    return len(rows)
