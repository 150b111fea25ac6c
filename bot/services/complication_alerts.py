"""The vascular-access team's view of open complications (A7.2, A7.3): WeChat Work alerts and
the live tracking board.

A complication is *alarming* when its grade is 2 or more or its catalogue entry says
``alert: True`` (suspected CRBSI, thrombosis). An alarming new complication, and any open one
left 24 hours without a handling step, goes to the responsible team: the catheter's (and the
complication's) responsible nurse and the active vascular-access experts of the catheter's
institution (the home hospital for a line placed elsewhere), each reachable in WeChat Work.
Every message has a dedupe key, so re-running sends nothing twice; the callers enqueue the
returned outbox ids after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.config import Settings
from bot.models import (
    Complication,
    ComplicationStep,
    Institution,
    OutboxMessage,
    Patient,
    Staff,
)
from bot.models.enums import Channel, ComplicationStatus, StaffRole
from bot.security.masking import mask_name

from . import notify

log = logging.getLogger(__name__)

ALERT_GRADE = 2
QUIET_LIMIT = timedelta(hours=24)  # an open complication without a step this long is pushed
OPEN = (ComplicationStatus.OPEN, ComplicationStatus.HANDLING)
SYSTEM_STEPS = ("REPORT", "REOPEN")  # timeline entries the service writes, not handling


def is_alarming(d: Dictionary, complication: Complication) -> bool:
    """Grade 2 or more, or a type the catalogue marks as an alert (CRBSI, thrombosis)."""
    entry = d.codes.get("complications", {}).get(complication.type)
    flagged = bool(entry is not None and entry.attrs.get("alert"))
    return flagged or (complication.grade or 0) >= ALERT_GRADE


def team(session: Session, complication: Complication) -> list[Staff]:
    """Who is told: the responsible nurse(s) and the institution's vascular-access experts,
    active and with a WeChat Work userid, each once."""
    catheter = complication.catheter
    nurses = {catheter.responsible_staff_id, complication.responsible_staff_id} - {None}
    institution_id = catheter.institution_id or complication.institution_id
    if institution_id is None:
        institution_id = session.scalar(select(Institution.id).where(Institution.is_home))
    experts = and_(
        Staff.is_vascular_expert.is_(True),
        Staff.institution_id == institution_id,
        Staff.role != StaffRole.OUTSIDE_CLINICIAN,
    )
    return list(
        session.scalars(
            select(Staff)
            .where(
                Staff.active.is_(True),
                Staff.wecom_userid.is_not(None),
                or_(Staff.id.in_(nurses), experts),
            )
            .order_by(Staff.id)
        )
    )


def on_reported(
    session: Session, d: Dictionary, complication: Complication, *, base_url: str | None = None
) -> list[int]:
    """Outbox ids of the WeChat Work alerts a newly reported complication raises: one per
    team member when it is alarming, none otherwise; the same ids however often it runs.
    ``base_url`` (settings.public_base_url) defaults to the installed container's."""
    if not is_alarming(d, complication):
        return []
    text = _new_message(session, d, complication, _base(base_url))
    return [
        notify.text(
            session,
            Channel.WORK,
            str(staff.wecom_userid),
            text,
            key=f"complication:{complication.id}:new:{staff.id}",
        )
        for staff in team(session, complication)
    ]


def quiet_since(complication: Complication) -> datetime:
    """When the complication last had a handling step (or was reported)."""
    return complication.last_step_at or complication.reported_at


def stale(
    session: Session,
    d: Dictionary,
    now: datetime,
    *,
    tz: ZoneInfo | None = None,
    base_url: str | None = None,
) -> list[int]:
    """Open complications without a handling step for 24 hours go to their team, once per
    quiet spell (the key holds when the spell began: a new step starts a new one). Only the
    outbox ids written by this run: a spell already told is not queued again."""
    quiet = func.coalesce(Complication.last_step_at, Complication.reported_at)
    found = session.scalars(
        select(Complication)
        .where(Complication.status.in_(OPEN), quiet <= now - QUIET_LIMIT)
        .order_by(Complication.id)
    ).all()
    if not found:
        return []
    zone, base = _zone(tz), _base(base_url)
    ids: list[int] = []
    for complication in found:
        spell = f"complication:{complication.id}:stale:{int(quiet_since(complication).timestamp())}"
        sent = set(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like(f"{spell}:%"))
            )
        )
        members = [m for m in team(session, complication) if f"{spell}:{m.id}" not in sent]
        if not members:
            continue  # told already in this quiet spell: nothing to queue again
        text = _stale_message(session, d, complication, now, zone, base)
        for staff in members:
            userid = str(staff.wecom_userid)
            ids.append(notify.text(session, Channel.WORK, userid, text, key=f"{spell}:{staff.id}"))
    return ids


def _headline(session: Session, d: Dictionary, complication: Complication) -> str:
    patient = session.get(Patient, complication.patient_id)
    device = d.label("device_types", complication.catheter.device_type)
    return (
        f"患者：{mask_name(patient.name if patient else None)}（{device}）\n"
        f"类型：{type_and_grade(d, complication)}\n"
        f"发生日期：{complication.onset_on:%Y-%m-%d}"
    )


def _new_message(session: Session, d: Dictionary, complication: Complication, base: str) -> str:
    reporter = _name(session, complication.reported_by_id) or "未记录"
    tag = "警示并发症" if _flagged(d, complication) else "新并发症"
    return (
        f"【{tag}·请及时处理】\n{_headline(session, d, complication)}\n上报人：{reporter}\n"
        f"查看与处理：{base}/staff/complications/{complication.id}"
    )


def _stale_message(
    session: Session,
    d: Dictionary,
    complication: Complication,
    now: datetime,
    tz: ZoneInfo,
    base: str,
) -> str:
    since = quiet_since(complication)
    hours = int((now - since).total_seconds() // 3600)
    last = _last_step(session, complication.id)
    at = f"{since.astimezone(tz):%m-%d %H:%M}"
    if last is None:
        what = f"上报于{at}，此后尚无处理记录"
    elif last.kind in SYSTEM_STEPS:  # reported or reopened, nothing done since
        what = f"{last.action}（{at}），此后尚无处理记录"
    else:
        who = _name(session, last.staff_id)
        what = f"最近处理：{last.action}（{who + ' ' if who else ''}{at}）"
    return (
        f"【并发症{hours}小时未处理】\n{_headline(session, d, complication)}\n{what}\n"
        f"已超过24小时没有新的处理记录，请处理或结案：\n"
        f"{base}/staff/complications/{complication.id}"
    )


def type_and_grade(d: Dictionary, complication: Complication) -> str:
    label = d.label("complications", complication.type)
    return f"{label} {complication.grade}级" if complication.grade is not None else label


def _flagged(d: Dictionary, complication: Complication) -> bool:
    entry = d.codes.get("complications", {}).get(complication.type)
    return bool(entry is not None and entry.attrs.get("alert"))


def _name(session: Session, staff_id: int | None) -> str | None:
    return session.scalar(select(Staff.name).where(Staff.id == staff_id)) if staff_id else None


def _last_step(session: Session, complication_id: int) -> ComplicationStep | None:
    return session.scalar(
        select(ComplicationStep)
        .where(ComplicationStep.complication_id == complication_id)
        .order_by(ComplicationStep.at.desc(), ComplicationStep.id.desc())
        .limit(1)
    )


def _settings() -> Settings | None:
    """The process's settings: the installed container's (worker, action server), or, in a
    web request (the H5 form reports through ``complications.report`` too), the Flask app's."""
    from bot.container import current

    try:
        return current().settings
    except RuntimeError:
        pass
    from flask import current_app, has_app_context  # only reached inside the web app

    if has_app_context() and "vam" in current_app.extensions:
        return cast(Settings, current_app.extensions["vam"].settings)
    return None


def _base(base_url: str | None) -> str:
    if base_url is not None:
        return base_url
    settings = _settings()
    if settings is None:
        log.warning("complication alert without a public base URL: the link is relative")
        return ""
    return settings.public_base_url


def _zone(tz: ZoneInfo | None) -> ZoneInfo:
    if tz is not None:
        return tz
    settings = _settings()
    return settings.timezone if settings else ZoneInfo("Asia/Shanghai")
