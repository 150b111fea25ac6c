"""The words of a reminder to the patient, one template per kind for every channel that words
it: Python words one message with them (WeChat), the database thousands (in-app, through
``sql_words``)."""

from __future__ import annotations

from datetime import date

from bot.models.enums import ReminderKind

# title and body of each kind; {date} is the due date as "12月03日", {days} the days overdue.
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


def words(kind: ReminderKind, name: str, device: str, due: date, overdue: int) -> tuple[str, str]:
    """The title and body of one reminder, ``overdue`` the days past ``due``."""
    title, body = WORDS[kind]
    return title, body.format(name=name, device=device, date=f"{due:%m月%d日}", days=overdue)
