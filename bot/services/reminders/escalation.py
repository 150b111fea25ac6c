"""Overdue escalation (A7.4): the overdue patients of a tier with escalation are reported to
their responsible nurse in WeChat Work."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import Catheter, Patient, Staff
from bot.models.enums import CatheterState, Channel

from .. import notify


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
        .where(
            and_(
                Catheter.state == CatheterState.IN_PLACE,
                Catheter.tier.in_(tiers),
                Catheter.next_due_on < today,
                Staff.wecom_userid.is_not(None),
                Staff.active.is_(True),
            )
        )
    ).all()
    for catheter, name, userid in rows:
        if not rules.needs_escalation(d, catheter.tier, catheter.next_due_on, today):
            continue
        text = _message(d, catheter, name, today)
        key = f"escalation:{catheter.id}:{catheter.next_due_on}"
        ids.append(notify.text(session, Channel.WORK, str(userid), text, key=key))
    return ids


def _message(d: Dictionary, catheter: Catheter, name: str, today: date) -> str:
    """The nurse's message about one overdue catheter."""
    tier = d.tiers[catheter.tier].label
    device = d.label("device_types", catheter.device_type)
    overdue = rules.days_overdue(catheter.next_due_on, today)
    return (
        f"【逾期提醒·{tier}】{name}的{device}"
        f"已逾期{overdue}天未维护（应于{catheter.next_due_on:%m月%d日}），请联系患者。"
    )
