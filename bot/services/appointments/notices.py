"""What patients are told about their bookings (P8.1): the reminder the day before, and the
cancellation when a clinic closes. Each is an in-app message and a WeChat message to every
follower of the 就诊人 through the outbox (unique key per booking round — a booking cancelled
and booked again is told again —, notice and follower); the
reminder carries the maintenance reminders' subscribe / template message for when WeChat's
48-hour window is closed (``reminders.WeChatFallback``), which the outbox sends instead."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import (
    Appointment,
    AppointmentSlot,
    InAppMessage,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
)
from bot.models.enums import AppointmentStatus, Channel

from .. import notify
from ..reminders import WeChatFallback, in_quiet_hours
from .booking import SERVICES, WEEKDAYS, day_bounds, on_day, rowcount

log = logging.getLogger(__name__)
KIND = "appointment"


@dataclass(frozen=True)
class Notice:
    title: str
    body: str


def followers(session: Session, patient_id: int) -> list[str]:
    """The openids of the accounts following the official account with this 就诊人."""
    return list(
        session.scalars(
            select(PatientAccount.openid)
            .join(PatientProfile, PatientProfile.account_id == PatientAccount.id)
            .where(PatientProfile.patient_id == patient_id, PatientAccount.subscribed.is_(True))
            .order_by(PatientAccount.id)
        )
    )


def tell(
    session: Session,
    appointment: Appointment,
    notice: Notice,
    *,
    key: str,
    link: str,
    fallback: dict[str, object] | None = None,
) -> list[int]:
    """The in-app message and one outbox row per follower
    (``appointment:{id}:{round}:{key}:{n}``, the round being when it was booked, or booked
    again after a cancellation); the outbox ids, to enqueue after commit."""
    session.add(
        InAppMessage(
            patient_id=appointment.patient_id,
            kind=KIND,
            title=notice.title,
            body=notice.body,
            link=link,
        )
    )
    body: dict[str, object] = {
        "msgtype": "text",
        "text": {"content": f"{notice.title}\n{notice.body}\n查看：{link}"},
    }
    if fallback:
        body["_fallback"] = fallback
    prefix = f"appointment:{appointment.id}:{appointment.created_at:%Y%m%d%H%M%S%f}:{key}"
    return [
        notify.payload(session, Channel.MP, openid, body, key=f"{prefix}:{n}")
        for n, openid in enumerate(followers(session, appointment.patient_id))
    ]


def describe(slot: AppointmentSlot, place: str, tz: ZoneInfo) -> str:
    start, end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
    return (
        f"{place}，{start:%m月%d日}({WEEKDAYS[start.weekday()]}) {start:%H:%M}-{end:%H:%M}，"
        f"{SERVICES.get(slot.service, slot.service)}"
    )


def remind_due(
    session: Session,
    now: datetime,
    tz: ZoneInfo,
    fallback: WeChatFallback,
) -> list[int]:
    """Remind each booking of tomorrow (the hospital's calendar) once, outside the patient's
    quiet hours (those in them are reminded by a later run the same day). A booking of today
    made before today whose reminder the evening's quiet hours held back (booked late in the
    evening) is reminded this morning instead, if it has not begun. ``reminded_at`` is
    claimed by a conditional UPDATE, so concurrent runs remind once. The outbox ids."""
    today = now.astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    today_start, _ = day_bounds(today, tz)
    held_back = (
        on_day(today, tz)
        & (AppointmentSlot.starts_at > now)
        & (Appointment.created_at < today_start)
    )
    rows = session.execute(
        select(Appointment, AppointmentSlot, Institution.name, Patient)
        .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
        .join(Institution, Institution.id == AppointmentSlot.institution_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.reminded_at.is_(None),
            AppointmentSlot.closed.is_(False),
            on_day(tomorrow, tz) | held_back,
        )
        .order_by(Appointment.id)
    ).all()
    local = now.astimezone(tz)
    outbox: list[int] = []
    for appointment, slot, place, patient in rows:
        if in_quiet_hours(local, patient.quiet_start, patient.quiet_end) is not None:
            continue
        claimed = rowcount(
            session.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment.id,
                    Appointment.reminded_at.is_(None),
                    Appointment.status == AppointmentStatus.BOOKED,
                )
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:  # a concurrent run has it
            continue
        day = slot.starts_at.astimezone(tz).date()
        word = "明天" if day == tomorrow else "今天"
        title = "明日门诊预约提醒" if day == tomorrow else "今日门诊预约提醒"
        notice = Notice(
            title,
            f"{patient.name}，您预约了{word}的导管维护：{describe(slot, place, tz)}。"
            "请携带导管维护手册按时就诊；不能前往请在“我的预约”中取消。",
        )
        service = SERVICES.get(slot.service, slot.service)
        outbox += tell(
            session,
            appointment,
            notice,
            key="reminder",
            link=f"{fallback.base_url}/h5/appointments",
            fallback=fallback.message(service, day, title),
        )
    if outbox:
        log.info("appointment reminders: %s outbox rows", len(outbox))
    return outbox
