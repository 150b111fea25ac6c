"""A catheter's reminders as the history pages show them (P3, A7.4): when, which kind, on which
channel, and how the delivery went, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import literal, select
from sqlalchemy.orm import Session, aliased

from bot.models import OutboxMessage, Reminder
from bot.models.enums import Channel, DeliveryStatus, ReminderKind

from .common import OUTBOX_KEY

KIND_LABELS = {
    ReminderKind.BEFORE: "到期前提醒",
    ReminderKind.DUE: "当天提醒",
    ReminderKind.OVERDUE: "逾期提醒",
    ReminderKind.ESCALATION: "逾期上报",
}
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
        select(
            Reminder,
            OutboxMessage.status,
            OutboxMessage.last_error,
            fallback.status,
            fallback.last_error,
        )
        .outerjoin(OutboxMessage, OutboxMessage.dedupe_key == OUTBOX_KEY)
        .outerjoin(fallback, fallback.dedupe_key == OUTBOX_KEY + literal(":fallback"))
        .where(Reminder.catheter_id == catheter_id)
        .order_by(Reminder.created_at.desc(), Reminder.id.desc())
        .limit(limit)
    ).all()
    out = []
    for reminder, first_status, first_error, fallback_status, fallback_error in rows:
        if fallback_status is not None:
            status = _status_words(reminder, fallback_status, fallback_error, True, tz)
        else:
            status = _status_words(reminder, first_status, first_error, False, tz)
        channel = CHANNEL_LABELS.get(reminder.channel, reminder.channel.value)
        out.append(
            HistoryEntry(
                reminder.created_at, reminder.due_on, KIND_LABELS[reminder.kind], channel, status
            )
        )
    return out


def _status_words(
    reminder: Reminder,
    sent_status: DeliveryStatus | None,
    error: str | None,
    fell_back: bool,
    tz: ZoneInfo,
) -> str:
    """How a reminder went, from its own status and, once queued, its outbox row's
    (``fell_back``: the fallback row's, the message sent when the window was closed)."""
    if reminder.status is DeliveryStatus.SENT:
        return "已送达"
    if reminder.status is DeliveryStatus.SKIPPED:
        return "已跳过（被更新的提醒取代）"
    if reminder.status is DeliveryStatus.FAILED:
        return f"未发送：{reminder.last_error}"
    if sent_status is DeliveryStatus.SENT:
        return "已发送（改发服务通知）" if fell_back else "已发送"
    if sent_status is DeliveryStatus.FAILED:
        return f"发送失败：{(error or '')[:60]}"
    if sent_status is DeliveryStatus.PENDING:
        return "发送中"
    if reminder.not_before is not None:
        return f"免打扰，{reminder.not_before.astimezone(tz):%m-%d %H:%M}后发送"
    return "等待发送"
