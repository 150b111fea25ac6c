"""The consultation roster: who is on duty now (``ConsultantDuty`` rows)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ConsultantDuty, Institution, Staff
from bot.models.enums import StaffRole

END_OF_DAY = "24:00"


def covers(duty: ConsultantDuty, local: datetime) -> bool:
    """Whether a duty row covers a local time. "HH:MM" strings compare as times; a row whose
    end is before its start runs over midnight (its weekdays are those of the evening); equal
    start and end mean the whole day."""
    days = {int(d) for d in duty.weekdays or []}
    start, end = duty.starts_at or "00:00", duty.ends_at or END_OF_DAY
    at = f"{local:%H:%M}"
    today = local.isoweekday()
    yesterday = 7 if today == 1 else today - 1

    def on(day: int) -> bool:
        return not days or day in days

    if start == end:
        return on(today)
    if start < end:
        return on(today) and start <= at < end
    # over midnight: the evening part today, the morning part from yesterday's duty
    return (on(today) and at >= start) or (on(yesterday) and at < end)


def on_duty(session: Session, now: datetime, tz: ZoneInfo) -> list[Staff]:
    """Active staff with an active duty row covering ``now`` (local weekday and time; empty
    weekdays = every day; "24:00" = end of day; a row whose end is before its start runs over
    midnight), by name. Empty if the roster has nobody on duty."""
    local = now.astimezone(tz)
    rows = session.scalars(
        select(ConsultantDuty)
        .join(Staff, Staff.id == ConsultantDuty.staff_id)
        .where(ConsultantDuty.active.is_(True), Staff.active.is_(True))
        .order_by(ConsultantDuty.id)
    ).all()
    found: dict[int, Staff] = {}
    for duty in rows:
        if duty.staff_id not in found and covers(duty, local):
            found[duty.staff_id] = duty.staff
    return sorted(found.values(), key=lambda s: (s.name, s.id))


def fallback(session: Session) -> list[Staff]:
    """Every active vascular expert of the home hospital (when the roster names nobody)."""
    return list(
        session.scalars(
            select(Staff)
            .join(Institution, Institution.id == Staff.institution_id)
            .where(
                Institution.is_home.is_(True),
                Staff.active.is_(True),
                Staff.is_vascular_expert.is_(True),
                Staff.role != StaffRole.OUTSIDE_CLINICIAN,
            )
            .order_by(Staff.name, Staff.id)
        )
    )


def may_consult(session: Session, staff: Staff) -> bool:
    """A named consultant may take a consultation: active, of the home hospital (not an
    outside clinician), and a vascular expert or on the roster."""
    if not staff.active or staff.role is StaffRole.OUTSIDE_CLINICIAN:
        return False
    home = session.scalar(select(Institution.is_home).where(Institution.id == staff.institution_id))
    if not home:
        return False
    if staff.is_vascular_expert:
        return True
    rostered = select(ConsultantDuty.id).where(
        ConsultantDuty.staff_id == staff.id, ConsultantDuty.active.is_(True)
    )
    return session.scalar(rostered.limit(1)) is not None
