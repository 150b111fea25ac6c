"""Reporting a complication (C3.4): the same complication reported twice is one record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import Catheter, Complication, ComplicationStep, utcnow
from bot.models.enums import ComplicationStatus

from . import audit


class ComplicationRefused(Exception):
    """The report cannot be accepted; the message says why, in Chinese."""


@dataclass(frozen=True)
class Reported:
    complication: Complication
    created: bool


def report(
    session: Session,
    d: Dictionary,
    catheter_id: int,
    *,
    type_code: str,
    onset_on: date,
    grade: int | None,
    brief_history: str | None,
    tz: ZoneInfo,
    actor: audit.Actor,
    institution_id: int | None,
) -> Reported:
    catheter = session.get(Catheter, catheter_id, with_for_update=True)
    if catheter is None:
        raise ComplicationRefused("找不到这根导管，请重新扫码或查找患者。")
    if not d.has_code("complications", type_code):
        raise ComplicationRefused("并发症类型不在字典中，请重新选择。")
    today = rules.local_date(utcnow(), tz)
    placed_on = rules.local_date(catheter.placed_at, tz)
    if not placed_on <= onset_on <= today:
        raise ComplicationRefused(f"发生日期应在置管日期（{placed_on:%Y-%m-%d}）与今天之间。")
    open_same = session.scalar(
        select(Complication).where(
            Complication.catheter_id == catheter.id,
            Complication.type == type_code,
            Complication.onset_on == onset_on,
            Complication.status == ComplicationStatus.OPEN,
        )
    )
    if open_same is not None:
        return Reported(open_same, False)
    complication = Complication(
        catheter_id=catheter.id,
        patient_id=catheter.patient_id,
        type=type_code,
        onset_on=onset_on,
        grade=grade,
        brief_history=brief_history,
        institution_id=institution_id,
        reported_by_id=actor.id,
    )
    session.add(complication)
    session.flush()
    session.add(ComplicationStep(complication_id=complication.id, staff_id=actor.id, action="上报"))
    audit.record(
        session,
        actor,
        "create",
        "complication",
        complication.id,
        patient_id=catheter.patient_id,
        context="chat",
    )
    return Reported(complication, True)
