"""The reminder sweep (P3.1–P3.3, A7.4): N days before the due date, on the day, and when
overdue, once per catheter, due date, kind and channel.

The sweep is set-based: one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per channel writes the
reminders of every catheter in place whose next due date is within the window (unique key
catheter, due date, channel, kind), so two sweeps running at once — or a sweep re-run after a
crash — create each reminder once. Bulk UPDATEs then settle what will not be sent now
(replaced by a later reminder or a maintenance, no mobile, no followed account, quiet hours);
only the reminders left get a message rendered in Python — an in-app message (the reminder is
then sent), or an outbox row (dedupe key ``reminder:{id}``; the reminder is then queued and the
outbox row tells the outcome) — page by page. A reminder still pending (a crash after its row
was committed) gets its message on the next sweep. Overdue patients of a tier with escalation are
reported to their responsible nurse in WeChat Work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    String,
    Text,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as cast_sql
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    InAppMessage,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
    Staff,
)
from bot.models.enums import CatheterState, Channel, DeliveryStatus, ReminderKind
from bot.security.crypto import PiiCipher

from . import notify, sql_words

log = logging.getLogger(__name__)
PAGE = 5000
ANALYZE_AFTER = 10_000  # reminders written by one sweep
PATIENT_CHANNELS = (Channel.INAPP, Channel.MP, Channel.SMS)
KEY_PREFIX = "reminder:"
REPLACED = "已被更新的提醒或维护记录取代"
NO_PHONE = "没有手机号"
NO_FOLLOWER = "没有关注公众号的绑定账号"
# A reminder that cannot reach the patient on one outside channel goes to the next one.
NEXT_CHANNEL = {Channel.MP: Channel.SMS, Channel.SMS: Channel.MP}


# the outbox row delivering a reminder has the dedupe key "reminder:{id}"
_OUTBOX_KEY = literal(KEY_PREFIX) + cast_sql(Reminder.id, String)


@dataclass
class SweepResult:
    created: int = 0
    outbox_ids: list[int] = field(default_factory=list)  # enqueue after commit
    delivered_inapp: int = 0


def kind_for(d: Dictionary, next_due: date, today: date) -> ReminderKind | None:
    days_left = (next_due - today).days
    if days_left < 0:
        return ReminderKind.OVERDUE
    if days_left == 0:
        return ReminderKind.DUE
    if days_left <= d.reminder_days_before:
        return ReminderKind.BEFORE
    return None


def in_quiet_hours(local: datetime, start: str, end: str) -> datetime | None:
    """When the quiet hours around ``local`` end, or None if ``local`` is outside them."""
    s, e = time.fromisoformat(start), time.fromisoformat(end)
    t = local.time()
    quiet = (s <= t or t < e) if s > e else (s <= t < e)
    if not quiet:
        return None
    end_day = local.date() + timedelta(days=1) if s > e and t >= s else local.date()
    return datetime.combine(end_day, e, tzinfo=local.tzinfo)


def sweep(
    session: Session, d: Dictionary, cipher: PiiCipher, now: datetime, tz: ZoneInfo,
    *, public_base_url: str, reminder_template: str = "", reminder_api: str = "subscribe",
) -> SweepResult:  # fmt: skip
    """Create the reminders due at ``now``, settle those that will not be sent now, and write
    the in-app messages and outbox rows of the others (their ids are in the result, to enqueue
    after commit). ``reminder_api`` (``subscribe`` or ``template``) and ``reminder_template``
    choose the WeChat message sent when the 48-hour customer-service window is closed."""
    today = rules.local_date(now, tz)
    created = _create(session, d, today, now)
    if (
        sum(len(ids) for ids in created.values()) >= ANALYZE_AFTER
        and _dialect(session) == "postgresql"
    ):
        # the planner's statistics do not know the rows just written: without this it picks
        # nested loops for the statements below that take seconds instead of milliseconds
        session.execute(sql_text("ANALYZE reminders"))
    # written failed just now: no followed account, no mobile
    just_failed = and_(_FAILED.status == DeliveryStatus.FAILED, _FAILED.created_at == now)
    for channel, ids in _next_channels(session, now, just_failed).items():
        created[channel] += ids
    result = SweepResult(created=sum(len(ids) for ids in created.values()))
    _settle(session, today, now, tz)
    fresh_inapp = min(created[Channel.INAPP], default=None)
    result.delivered_inapp = _deliver_inapp(session, d, today, now, public_base_url, fresh_inapp)
    fallback = _WeChatFallback(reminder_api, reminder_template, public_base_url)
    _deliver(session, d, cipher, today, now, result, fallback)
    return result


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _insert(session: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT support on either database."""
    return (pg_insert if _dialect(session) == "postgresql" else sqlite_insert)(table)


def _kind_for_due(due: Any, today: date) -> Any:
    """The kind a due date calls for today, in SQL (BEFORE only inside the window, which the
    caller's WHERE guarantees; as ``kind_for``)."""
    typed = Reminder.kind.type
    return case(
        (due < today, literal(ReminderKind.OVERDUE, typed)),
        (due == today, literal(ReminderKind.DUE, typed)),
        else_=literal(ReminderKind.BEFORE, typed),
    )


def _wants(dialect: str, channel: Channel) -> Any:
    """The patient chose ``channel`` (``patients.reminder_channels``, a JSON list)."""
    if dialect == "postgresql":
        return type_coerce(Patient.reminder_channels, JSONB).has_key(channel.value)
    chosen = func.json_each(Patient.reminder_channels).table_valued("value")
    return exists().select_from(chosen).where(chosen.c.value == channel.value)


def _create(
    session: Session, d: Dictionary, today: date, now: datetime
) -> dict[Channel, list[int]]:
    """One INSERT … SELECT per channel writes the missing reminders of every catheter in place
    due within the window; their ids by channel. In-app reminders are written sent (their
    messages follow in the same transaction), those that cannot be sent failed. NOT EXISTS leaves out the reminders written
    already (a sweep that finds nothing new writes nothing and draws no ids from the
    sequence); ON CONFLICT DO NOTHING guards against a concurrent sweep."""
    horizon = today + timedelta(days=d.reminder_days_before)
    kind = _kind_for_due(Catheter.next_due_on, today)
    created: dict[Channel, list[int]] = {}
    for channel in PATIENT_CHANNELS:
        # a reminder that cannot be sent is written failed, with the reason (no later UPDATE)
        unreachable, reason = _unreachable(channel, Catheter.patient_id)
        status_type = Reminder.status.type
        initial = DeliveryStatus.SENT if channel is Channel.INAPP else DeliveryStatus.PENDING
        written = exists().where(
            Reminder.catheter_id == Catheter.id,
            Reminder.due_on == Catheter.next_due_on,
            Reminder.channel == channel,
            Reminder.kind == kind,
        )
        rows = (
            select(
                Catheter.id,
                Catheter.patient_id,
                Catheter.next_due_on,
                kind,
                literal(channel, Reminder.channel.type),
                case(
                    (unreachable, literal(DeliveryStatus.FAILED, status_type)),
                    else_=literal(initial, status_type),
                ),
                case((unreachable, literal(reason)), else_=None),
                literal(now if channel is Channel.INAPP else None, Reminder.sent_at.type),
                literal(0),
                literal(now, Reminder.created_at.type),
            )  # fmt: skip
            .join(Patient, Patient.id == Catheter.patient_id)
            .where(
                Catheter.state == CatheterState.IN_PLACE,
                Catheter.next_due_on <= horizon,
                _wants(_dialect(session), channel),
                ~written,
            )  # fmt: skip
            .order_by(Catheter.id)  # concurrent sweeps take the keys in the same order
        )
        created[channel] = _insert_reminders(session, rows)
    return created


_COLUMNS = ["catheter_id", "patient_id", "due_on", "kind", "channel", "status", "last_error",
            "sent_at", "attempts", "created_at"]  # fmt: skip


def _insert_reminders(session: Session, rows: Any) -> list[int]:
    """INSERT … SELECT of reminders (``_COLUMNS``), those a concurrent sweep wrote first left
    out; the ids."""
    stmt = (
        _insert(session, Reminder.__table__)
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["catheter_id", "due_on", "channel", "kind"])
        .returning(Reminder.__table__.c.id)
    )
    return list(session.execute(stmt).scalars())


# the reminders that failed, seen from the reminders written for the next channel
_FAILED = aliased(Reminder, name="failed")


def _next_channels(session: Session, now: datetime, which: Any) -> dict[Channel, list[int]]:
    """The failed reminders ``which`` (a condition on ``_FAILED``) are written once more for the
    next channel (``NEXT_CHANNEL``) when the patient can be reached there, whatever channels
    they chose — a missed maintenance matters more than the preference. The sweep sends them
    (quiet hours apply; a maintenance since then settles them). The new ids by channel."""
    created: dict[Channel, list[int]] = {}
    for channel, following in NEXT_CHANNEL.items():
        unreachable, _ = _unreachable(following, _FAILED.patient_id)
        written = exists().where(
            Reminder.catheter_id == _FAILED.catheter_id, Reminder.due_on == _FAILED.due_on,
            Reminder.channel == following, Reminder.kind == _FAILED.kind,
        )  # fmt: skip
        rows = (
            select(_FAILED.catheter_id, _FAILED.patient_id, _FAILED.due_on, _FAILED.kind,
                   literal(following, Reminder.channel.type),
                   literal(DeliveryStatus.PENDING, Reminder.status.type), literal(None, Text),
                   literal(None, Reminder.sent_at.type), literal(0), literal(now, Reminder.created_at.type))
            .where(_FAILED.channel == channel, which, ~unreachable, ~written)
            .order_by(_FAILED.catheter_id)
        )  # fmt: skip
        created[following] = _insert_reminders(session, rows)
    return created


def _unreachable(channel: Channel, patient_id: Any) -> tuple[Any, str | None]:
    """When a patient cannot get a reminder on ``channel``, in SQL, and why."""
    if channel is Channel.SMS:
        p = aliased(Patient)  # the caller may select from patients already
        return exists().where(p.id == patient_id, p.phone_enc.is_(None)), NO_PHONE
    if channel is Channel.MP:
        follower = exists().where(
            PatientProfile.patient_id == patient_id,
            PatientAccount.id == PatientProfile.account_id,
            PatientAccount.subscribed.is_(True),
        )
        return ~follower, NO_FOLLOWER
    return literal(False), None


def _open(now: datetime) -> Any:
    """Reminders still to deliver: pending (not yet in the outbox), not held by quiet hours."""
    return and_(
        Reminder.status == DeliveryStatus.PENDING,
        or_(Reminder.not_before.is_(None), Reminder.not_before <= now),
    )


def _settle(session: Session, today: date, now: datetime, tz: ZoneInfo) -> None:
    """Bulk UPDATEs for the open reminders that will not be sent now: replaced (by a later
    kind, a maintenance that moved the due date, a removal), no mobile for SMS, no followed
    account for WeChat, and SMS in the patient's quiet hours (held until they end)."""
    replaced = or_(
        exists().where(
            Catheter.id == Reminder.catheter_id,
            or_(
                Catheter.state != CatheterState.IN_PLACE,
                Catheter.next_due_on.is_(None),
                Catheter.next_due_on != Reminder.due_on,
            ),
        ),  # fmt: skip
        and_(Reminder.due_on < today, Reminder.kind != ReminderKind.OVERDUE),
        and_(Reminder.due_on == today, Reminder.kind == ReminderKind.BEFORE),
    )
    _update(session, and_(_open(now), replaced),
            {"status": DeliveryStatus.SKIPPED, "last_error": REPLACED})  # fmt: skip
    for channel in (Channel.SMS, Channel.MP):  # the mobile or the follower went since
        unreachable, reason = _unreachable(channel, Reminder.patient_id)
        _update(session, and_(_open(now), Reminder.channel == channel, unreachable),
                {"status": DeliveryStatus.FAILED, "last_error": reason})  # fmt: skip
    local = now.astimezone(tz)
    quiet_hours = session.execute(
        select(Patient.quiet_start, Patient.quiet_end)
        .distinct()
        .join(Reminder, Reminder.patient_id == Patient.id)
        .where(_open(now), Reminder.channel == Channel.SMS)
    ).all()
    for start, end in quiet_hours:
        resume = in_quiet_hours(local, start, end)
        if resume is not None:
            same = exists().where(Patient.id == Reminder.patient_id, Patient.quiet_start == start,
                                  Patient.quiet_end == end)  # fmt: skip
            _update(session, and_(_open(now), Reminder.channel == Channel.SMS, same),
                    {"not_before": resume.astimezone(UTC)})  # fmt: skip


def _update(session: Session, where: Any, values: dict[str, Any]) -> None:
    session.execute(
        update(Reminder).where(where).values(values).execution_options(synchronize_session=False)
    )


def _deliver_inapp(
    session: Session, d: Dictionary, today: date, now: datetime, base_url: str, fresh: int | None
) -> int:
    """The in-app reminders written by this sweep (ids from ``fresh`` on, sent) and the open
    ones (a crash) become in-app messages in one INSERT … SELECT, worded by the database from
    ``WORDS``; the number of messages written."""
    dialect = _dialect(session)
    values = {
        "name": Patient.name,
        "device": _device_label(d),
        "date": sql_words.month_day(dialect, Reminder.due_on),
        "days": sql_words.days_after(dialect, Reminder.due_on, today),
    }
    title = case({kind: literal(words[0]) for kind, words in WORDS.items()}, value=Reminder.kind)
    body = case(
        {kind: sql_words.render(words[1], values) for kind, words in WORDS.items()},
        value=Reminder.kind,
    )
    has_message = exists().where(InAppMessage.reminder_id == Reminder.id)
    new = and_(Reminder.status == DeliveryStatus.SENT, Reminder.id >= fresh) if fresh else false()
    inapp = and_(Reminder.channel == Channel.INAPP, or_(_open(now), new), ~has_message)
    rows = (
        select(
            Reminder.patient_id,
            Reminder.id,
            literal("reminder"),
            title,
            body,
            literal(f"{base_url}/h5/home"),
            literal(now, InAppMessage.created_at.type),
        )  # fmt: skip
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(inapp)
        .order_by(Reminder.id)
    )
    table = InAppMessage.__table__
    stmt = (
        _insert(session, table)
        .from_select(["patient_id", "reminder_id", "kind", "title", "body", "link", "created_at"], rows)
        .on_conflict_do_nothing(index_elements=["reminder_id"])  # a concurrent sweep's
        .returning(table.c.id)
    )  # fmt: skip
    written = len(session.execute(stmt).all())
    _update(session, and_(_open(now), Reminder.channel == Channel.INAPP, has_message),
            {"status": DeliveryStatus.SENT, "sent_at": now})  # fmt: skip
    return written


@dataclass(frozen=True)
class _WeChatFallback:
    api: str  # "subscribe" or "template"
    template_id: str
    base_url: str

    def message(self, device: str, due: date, title: str) -> dict[str, object]:
        """The message sent when the 48-hour customer-service window is closed: a subscribe
        message (``message/subscribe/bizsend``, opens ``page``) or a template message
        (``message/template/send``, opens ``url``); fields thing1 (device), time2 (due date),
        thing3 (title), at most 20 characters each."""
        link = "page" if self.api == "subscribe" else "url"
        return {"_api": self.api, "template_id": self.template_id or "reminder", link: f"{self.base_url}/h5/home",
                "data": {"thing1": {"value": device[:20]}, "time2": {"value": f"{due:%Y年%m月%d日}"},
                         "thing3": {"value": title[:20]}}}  # fmt: skip


def _deliver(
    session: Session, d: Dictionary, cipher: PiiCipher, today: date, now: datetime,
    result: SweepResult, fallback: _WeChatFallback,
) -> None:  # fmt: skip
    """The open WeChat and SMS reminders left after ``_settle`` get their outbox rows and are
    then queued: the SMS ones in one INSERT … SELECT (sent to the patient's mobile as it is
    when sent: ``notify.PATIENT_PREFIX``), the WeChat ones a page at a time (keyset on the
    id: bounded memory)."""
    _deliver_sms(session, d, today, now, result)
    query = (
        select(
            Reminder.id,
            Reminder.kind,
            Reminder.due_on,
            Reminder.patient_id,
            Catheter.device_type,
            Patient.name,
        )  # fmt: skip
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(_open(now), Reminder.channel == Channel.MP)
        .order_by(Reminder.id)
        .limit(PAGE)
    )
    last = 0
    while rows := session.execute(query.where(Reminder.id > last)).all():
        last = rows[-1].id
        openids = _openids(session, {r.patient_id for r in rows})
        outbox: list[dict[str, Any]] = []
        for r in rows:
            if r.patient_id not in openids:  # no followed account was settled as failed
                continue
            device = d.label("device_types", r.device_type)
            title, body = _words(
                r.kind, r.name, device, r.due_on, rules.days_overdue(r.due_on, today)
            )
            payload = {"msgtype": "text", "text": {"content": f"{title}\n{body}"},
                       "_fallback": fallback.message(device, r.due_on, title)}  # fmt: skip
            outbox.append({"dedupe_key": f"{KEY_PREFIX}{r.id}", "channel": Channel.MP,
                           "recipient": openids[r.patient_id], "msg_type": "text", "payload": payload,
                           "status": DeliveryStatus.PENDING, "attempts": 0, "created_at": now})  # fmt: skip
        # a row a concurrent sweep wrote first is left out by ON CONFLICT; either way the
        # reminder is in the outbox now
        if outbox:
            result.outbox_ids += notify.insert_rows(session, outbox)
            queued = [int(o["dedupe_key"].removeprefix(KEY_PREFIX)) for o in outbox]
            _update(session, Reminder.id.in_(queued), {"status": DeliveryStatus.QUEUED})


def _deliver_sms(
    session: Session, d: Dictionary, today: date, now: datetime, result: SweepResult
) -> None:
    """The open SMS reminders become outbox rows in one INSERT … SELECT, their parameters
    (name, device, the due date or the days overdue: ``PARAM_NAMES`` in bot/adapters/sms.py)
    worded by the database; then they are queued."""
    dialect = _dialect(session)
    days = sql_words.days_after(dialect, Reminder.due_on, today)
    params = sql_words.json_array(
        dialect,
        Patient.name,
        _device_label(d),
        case((Reminder.due_on < today, cast_sql(days, String)),
             else_=sql_words.month_day(dialect, Reminder.due_on)),
    )  # fmt: skip
    template = case((Reminder.kind == ReminderKind.OVERDUE, literal("reminder_overdue")),
                    else_=literal("reminder_due"))  # fmt: skip
    table = OutboxMessage.__table__
    rows = (
        select(
            _OUTBOX_KEY,
            literal(Channel.SMS, table.c.channel.type),
            literal(notify.PATIENT_PREFIX) + cast_sql(Reminder.patient_id, String),
            literal("sms"),
            sql_words.json_object(dialect, "template", template, "params", params),
            literal(DeliveryStatus.PENDING, table.c.status.type),
            literal(0),
            literal(now, table.c.created_at.type),
        )  # fmt: skip
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(_open(now), Reminder.channel == Channel.SMS, Patient.phone_enc.is_not(None))
        .order_by(Reminder.id)
    )
    stmt = (
        _insert(session, table)
        .from_select(["dedupe_key", "channel", "recipient", "msg_type", "payload", "status",
                      "attempts", "created_at"], rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])  # a concurrent sweep's
        .returning(table.c.id)
    )  # fmt: skip
    result.outbox_ids += list(session.execute(stmt).scalars())
    in_outbox = exists().where(OutboxMessage.dedupe_key == _OUTBOX_KEY)
    _update(session, and_(_open(now), Reminder.channel == Channel.SMS, in_outbox),
            {"status": DeliveryStatus.QUEUED})  # fmt: skip


def _device_label(d: Dictionary) -> Any:
    """The device type's label from the dictionary, in SQL."""
    labels = {code: d.label("device_types", code) for code in d.device_types}
    if not labels:
        return Catheter.device_type
    return case(labels, value=Catheter.device_type, else_=Catheter.device_type)


def try_next_channel(session: Session, outbox_key: str, now: datetime) -> int | None:
    """The reminder delivered by the outbox row ``outbox_key`` ("reminder:{id}", or its
    ":fallback") failed for good: it goes to the next channel (``_next_channels``). Returns
    the new reminder's id, or None (not a reminder, nowhere else to go, or that channel had
    its reminder already)."""
    key = outbox_key.removesuffix(":fallback")
    if not key.startswith(KEY_PREFIX) or not key.removeprefix(KEY_PREFIX).isdigit():
        return None
    reminder_id = int(key.removeprefix(KEY_PREFIX))
    new = [
        i for ids in _next_channels(session, now, _FAILED.id == reminder_id).values() for i in ids
    ]
    if new:
        log.info(
            "reminder %s failed for good; reminder %s on the next channel", reminder_id, new[0]
        )
    return new[0] if new else None


def _openids(session: Session, patient_ids: set[int]) -> dict[int, str]:
    """A followed account's openid for each patient that has one (several: the first)."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(PatientProfile.patient_id, func.min(PatientAccount.openid))
        .join(PatientAccount, PatientAccount.id == PatientProfile.account_id)
        .where(PatientProfile.patient_id.in_(patient_ids), PatientAccount.subscribed.is_(True))
        .group_by(PatientProfile.patient_id)
    )
    return {patient_id: openid for patient_id, openid in rows}


# title and body of each kind; {date} is the due date as "12月03日", {days} the days overdue.
# Python words one message with them (WeChat), the database thousands (in-app, sql_words).
WORDS = {
    ReminderKind.OVERDUE: (
        "导管维护已逾期",
        "{name}的{device}维护已逾期{days}天（应于{date}），请尽快到医院或就近机构维护。",
    ),
    ReminderKind.DUE: (
        "今日需维护导管",
        "{name}的{device}今天（{date}）需要维护，请按时到医院或就近机构维护。",
    ),
    ReminderKind.BEFORE: ("导管维护提醒", "{name}的{device}将于{date}到期维护，请提前安排。"),
}


def _words(kind: ReminderKind, name: str, device: str, due: date, overdue: int) -> tuple[str, str]:
    title, body = WORDS[kind]
    return title, body.format(name=name, device=device, date=f"{due:%m月%d日}", days=overdue)


def escalate(session: Session, d: Dictionary, now: datetime, tz: ZoneInfo) -> list[int]:
    """Overdue patients whose tier escalates go to their responsible nurse in WeChat Work, once
    per catheter and due date; the outbox ids to enqueue."""
    today = rules.local_date(now, tz)
    ids = []
    tiers = [code for code, t in d.tiers.items() if t.escalate_overdue_days is not None]
    rows = session.execute(
        select(Catheter, Patient.name, Staff.wecom_userid)
        .join(Patient, Patient.id == Catheter.patient_id)
        .join(Staff, Staff.id == Catheter.responsible_staff_id)
        .where(and_(Catheter.state == CatheterState.IN_PLACE, Catheter.tier.in_(tiers),
                    Catheter.next_due_on < today, Staff.wecom_userid.is_not(None), Staff.active.is_(True)))
    ).all()  # fmt: skip
    for catheter, name, userid in rows:
        if not rules.needs_escalation(d, catheter.tier, catheter.next_due_on, today):
            continue
        overdue = rules.days_overdue(catheter.next_due_on, today)
        text = (f"【逾期提醒·{d.tiers[catheter.tier].label}】{name}的{d.label('device_types', catheter.device_type)}"
                f"已逾期{overdue}天未维护（应于{catheter.next_due_on:%m月%d日}），请联系患者。")  # fmt: skip
        ids.append(notify.text(session, Channel.WORK, str(userid), text,
                               key=f"escalation:{catheter.id}:{catheter.next_due_on}"))  # fmt: skip
    return ids


KIND_LABELS = {ReminderKind.BEFORE: "到期前提醒", ReminderKind.DUE: "当天提醒", ReminderKind.OVERDUE: "逾期提醒",
               ReminderKind.ESCALATION: "逾期上报"}  # fmt: skip
CHANNEL_LABELS = {
    Channel.INAPP: "站内消息",
    Channel.MP: "微信",
    Channel.SMS: "短信",
    Channel.WORK: "企业微信",
}


@dataclass(frozen=True)
class HistoryEntry:
    created_at: datetime
    due_on: date
    kind: str
    channel: str
    status: str  # in words


def history(
    session: Session, catheter_id: int, tz: ZoneInfo, limit: int = 50
) -> list[HistoryEntry]:
    """The catheter's reminders with their delivery status, newest first (P3, A7.4)."""
    # A WeChat reminder refused for a closed 48-hour window is sent again as a subscribe or
    # template message (bot/channels/outbox.py): that second row says how it went.
    fallback = aliased(OutboxMessage)
    rows = session.execute(
        select(Reminder, OutboxMessage.status, OutboxMessage.last_error,
               fallback.status, fallback.last_error)
        .outerjoin(OutboxMessage, OutboxMessage.dedupe_key == _OUTBOX_KEY)
        .outerjoin(fallback, fallback.dedupe_key == _OUTBOX_KEY + literal(":fallback"))
        .where(Reminder.catheter_id == catheter_id)
        .order_by(Reminder.created_at.desc(), Reminder.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    out = []
    for reminder, first_status, first_error, fallback_status, fallback_error in rows:
        sent_status, error = (
            (fallback_status, fallback_error)
            if fallback_status is not None
            else (first_status, first_error)
        )
        if reminder.status is DeliveryStatus.SENT:
            words = "已送达"
        elif reminder.status is DeliveryStatus.SKIPPED:
            words = "已跳过（被更新的提醒取代）"
        elif reminder.status is DeliveryStatus.FAILED:
            words = f"未发送：{reminder.last_error}"
        elif sent_status is DeliveryStatus.SENT:
            words = "已发送（改发服务通知）" if fallback_status is not None else "已发送"
        elif sent_status is DeliveryStatus.FAILED:
            words = f"发送失败：{(error or '')[:60]}"
        elif sent_status is DeliveryStatus.PENDING:
            words = "发送中"
        elif reminder.not_before is not None:
            words = f"免打扰，{reminder.not_before.astimezone(tz):%m-%d %H:%M}后发送"
        else:
            words = "等待发送"
        out.append(HistoryEntry(reminder.created_at, reminder.due_on, KIND_LABELS[reminder.kind],
                                CHANNEL_LABELS.get(reminder.channel, reminder.channel.value), words))  # fmt: skip
    return out
