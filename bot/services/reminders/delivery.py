"""Delivery of the reminders the sweep leaves open: an in-app message (the reminder is then
sent), or an outbox row (dedupe key ``reminder:{id}``; the reminder is then queued and the
outbox row tells the outcome) for WeChat and SMS. A reminder still pending (a crash after its
row was committed) gets its message on the next sweep. A send that fails for good goes to the
next channel (``try_next_channel``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, case, exists, false, func, literal, or_, select
from sqlalchemy import cast as cast_sql
from sqlalchemy.orm import Session

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
)
from bot.models.enums import Channel, DeliveryStatus, ReminderKind

from .. import notify, sql_words
from .common import (
    FAILED,
    KEY_PREFIX,
    OUTBOX_KEY,
    SweepResult,
    dialect,
    insert_into,
    is_open,
    next_channels,
    update_reminders,
)
from .wording import WORDS, words

log = logging.getLogger(__name__)
PAGE = 5000
# the outbox columns an INSERT … SELECT of messages writes (SMS reminders, follow-ups)
OUTBOX_COLUMNS = [
    "dedupe_key",
    "channel",
    "recipient",
    "msg_type",
    "payload",
    "status",
    "attempts",
    "created_at",
]


def deliver_inapp(
    session: Session, d: Dictionary, today: date, now: datetime, base_url: str, fresh: int | None
) -> int:
    """The in-app reminders written by this sweep (ids from ``fresh`` on, sent) and the open
    ones (a crash) become in-app messages in one INSERT … SELECT, worded by the database from
    ``WORDS``; the number of messages written."""
    title, body = _inapp_words(dialect(session), d, today)
    has_message = exists().where(InAppMessage.reminder_id == Reminder.id)
    new = and_(Reminder.status == DeliveryStatus.SENT, Reminder.id >= fresh) if fresh else false()
    inapp = and_(Reminder.channel == Channel.INAPP, or_(is_open(now), new), ~has_message)
    rows = (
        select(
            Reminder.patient_id,
            Reminder.id,
            literal("reminder"),
            title,
            body,
            literal(f"{base_url}/h5/home"),
            literal(now, InAppMessage.created_at.type),
        )
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(inapp)
        .order_by(Reminder.id)
    )
    table = InAppMessage.__table__
    columns = ["patient_id", "reminder_id", "kind", "title", "body", "link", "created_at"]
    stmt = (
        insert_into(session, table)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["reminder_id"])  # a concurrent sweep's
        .returning(table.c.id)
    )
    written = len(session.execute(stmt).all())
    update_reminders(
        session,
        and_(is_open(now), Reminder.channel == Channel.INAPP, has_message),
        {"status": DeliveryStatus.SENT, "sent_at": now},
    )
    return written


def _inapp_words(dialect_name: str, d: Dictionary, today: date) -> tuple[Any, Any]:
    """The title and body of an in-app reminder, in SQL, from ``WORDS``."""
    values = {
        "name": Patient.name,
        "device": device_label(d),
        "date": sql_words.month_day(dialect_name, Reminder.due_on),
        "days": sql_words.days_after(dialect_name, Reminder.due_on, today),
    }
    title = case({kind: literal(t) for kind, (t, _) in WORDS.items()}, value=Reminder.kind)
    body = case(
        {kind: sql_words.render(b, values) for kind, (_, b) in WORDS.items()},
        value=Reminder.kind,
    )
    return title, body


@dataclass(frozen=True)
class WeChatFallback:
    api: str  # "subscribe" or "template"
    template_id: str
    base_url: str

    def message(self, device: str, due: date, title: str) -> dict[str, object]:
        """The message sent when the 48-hour customer-service window is closed: a subscribe
        message (``message/subscribe/bizsend``, opens ``page``) or a template message
        (``message/template/send``, opens ``url``); fields thing1 (device), time2 (due date),
        thing3 (title), at most 20 characters each."""
        link = "page" if self.api == "subscribe" else "url"
        data = {
            "thing1": {"value": device[:20]},
            "time2": {"value": f"{due:%Y年%m月%d日}"},
            "thing3": {"value": title[:20]},
        }
        return {
            "_api": self.api,
            "template_id": self.template_id or "reminder",
            link: f"{self.base_url}/h5/home",
            "data": data,
        }


def deliver(
    session: Session,
    d: Dictionary,
    today: date,
    now: datetime,
    result: SweepResult,
    fallback: WeChatFallback,
) -> None:
    """The open WeChat and SMS reminders left after the sweep settled get their outbox rows and
    are then queued: the SMS ones in one INSERT … SELECT (sent to the patient's mobile as it is
    when sent: ``notify.PATIENT_PREFIX``), the WeChat ones a page at a time (keyset on the id:
    bounded memory)."""
    _deliver_sms(session, d, today, now, result)
    _deliver_wechat(session, d, today, now, result, fallback)


def _deliver_wechat(
    session: Session,
    d: Dictionary,
    today: date,
    now: datetime,
    result: SweepResult,
    fallback: WeChatFallback,
) -> None:
    """The open WeChat reminders' outbox rows, a page at a time; then they are queued."""
    query = (
        select(
            Reminder.id,
            Reminder.kind,
            Reminder.due_on,
            Reminder.patient_id,
            Catheter.device_type,
            Patient.name,
        )
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(is_open(now), Reminder.channel == Channel.MP)
        .order_by(Reminder.id)
        .limit(PAGE)
    )
    last = 0
    while rows := session.execute(query.where(Reminder.id > last)).all():
        last = rows[-1].id
        openids = _openids(session, {r.patient_id for r in rows})
        outbox = [
            _wechat_row(d, r, openids[r.patient_id], today, now, fallback)
            for r in rows
            if r.patient_id in openids  # no followed account was settled as failed
        ]
        # a row a concurrent sweep wrote first is left out by ON CONFLICT; either way the
        # reminder is in the outbox now
        if outbox:
            result.outbox_ids += notify.insert_rows(session, outbox)
            queued = [int(o["dedupe_key"].removeprefix(KEY_PREFIX)) for o in outbox]
            update_reminders(session, Reminder.id.in_(queued), {"status": DeliveryStatus.QUEUED})


def _wechat_row(
    d: Dictionary, r: Any, openid: str, today: date, now: datetime, fallback: WeChatFallback
) -> dict[str, Any]:
    """The outbox row of one WeChat reminder: a text message, with the message to send instead
    when the customer-service window is closed."""
    device = d.label("device_types", r.device_type)
    title, body = words(r.kind, r.name, device, r.due_on, rules.days_overdue(r.due_on, today))
    payload = {
        "msgtype": "text",
        "text": {"content": f"{title}\n{body}"},
        "_fallback": fallback.message(device, r.due_on, title),
    }
    return {
        "dedupe_key": f"{KEY_PREFIX}{r.id}",
        "channel": Channel.MP,
        "recipient": openid,
        "msg_type": "text",
        "payload": payload,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "created_at": now,
    }


def _deliver_sms(
    session: Session, d: Dictionary, today: date, now: datetime, result: SweepResult
) -> None:
    """The open SMS reminders become outbox rows in one INSERT … SELECT, their parameters
    (name, device, the due date or the days overdue: ``PARAM_NAMES`` in bot/adapters/sms.py)
    worded by the database; then they are queued."""
    table = OutboxMessage.__table__
    rows = (
        select(
            OUTBOX_KEY,
            literal(Channel.SMS, table.c.channel.type),
            literal(notify.PATIENT_PREFIX) + cast_sql(Reminder.patient_id, String),
            literal("sms"),
            _sms_payload(dialect(session), d, today),
            literal(DeliveryStatus.PENDING, table.c.status.type),
            literal(0),
            literal(now, table.c.created_at.type),
        )
        .join(Catheter, Catheter.id == Reminder.catheter_id)
        .join(Patient, Patient.id == Reminder.patient_id)
        .where(is_open(now), Reminder.channel == Channel.SMS, Patient.phone_enc.is_not(None))
        .order_by(Reminder.id)
    )
    stmt = (
        insert_into(session, table)
        .from_select(OUTBOX_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])  # a concurrent sweep's
        .returning(table.c.id)
    )
    result.outbox_ids += list(session.execute(stmt).scalars())
    in_outbox = exists().where(OutboxMessage.dedupe_key == OUTBOX_KEY)
    update_reminders(
        session,
        and_(is_open(now), Reminder.channel == Channel.SMS, in_outbox),
        {"status": DeliveryStatus.QUEUED},
    )


def _sms_payload(dialect_name: str, d: Dictionary, today: date) -> Any:
    """An SMS reminder's payload, in SQL: its template and parameters."""
    days = sql_words.days_after(dialect_name, Reminder.due_on, today)
    params = sql_words.json_array(
        dialect_name,
        Patient.name,
        device_label(d),
        case(
            (Reminder.due_on < today, cast_sql(days, String)),
            else_=sql_words.month_day(dialect_name, Reminder.due_on),
        ),
    )
    template = case(
        (Reminder.kind == ReminderKind.OVERDUE, literal("reminder_overdue")),
        else_=literal("reminder_due"),
    )
    return sql_words.json_object(dialect_name, "template", template, "params", params)


def device_label(d: Dictionary) -> Any:
    """The device type's label from the dictionary, in SQL."""
    labels = {code: d.label("device_types", code) for code in d.device_types}
    if not labels:
        return Catheter.device_type
    return case(labels, value=Catheter.device_type, else_=Catheter.device_type)


def try_next_channel(session: Session, outbox_key: str, now: datetime) -> int | None:
    """The reminder delivered by the outbox row ``outbox_key`` ("reminder:{id}", or its
    ":fallback") failed for good: it goes to the next channel (``next_channels``). Returns
    the new reminder's id, or None (not a reminder, nowhere else to go, or that channel had
    its reminder already)."""
    key = outbox_key.removesuffix(":fallback")
    if not key.startswith(KEY_PREFIX) or not key.removeprefix(KEY_PREFIX).isdigit():
        return None
    reminder_id = int(key.removeprefix(KEY_PREFIX))
    new = [i for ids in next_channels(session, now, FAILED.id == reminder_id).values() for i in ids]
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
