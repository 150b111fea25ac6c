"""Clinical rules as pure functions over the dictionary (CLINICAL.md).

Dates are the hospital's local calendar dates (Asia/Shanghai by default); convert a UTC
instant with ``local_date`` before asking any question about "today".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from .dictionary import Dictionary


class DueStatus(StrEnum):
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    DUE_SOON = "due_soon"
    OK = "ok"
    REMOVED = "removed"


# Words and colours always travel together: status is never shown by colour alone (C3.1).
STATUS_LABELS = {
    DueStatus.OVERDUE: "已逾期",
    DueStatus.DUE_TODAY: "今日需维护",
    DueStatus.DUE_SOON: "即将到期",
    DueStatus.OK: "正常",
    DueStatus.REMOVED: "已拔管",
}
STATUS_COLOURS = {
    DueStatus.OVERDUE: "#d93025",
    DueStatus.DUE_TODAY: "#e37400",
    DueStatus.DUE_SOON: "#b58900",
    DueStatus.OK: "#188038",
    DueStatus.REMOVED: "#5f6368",
}
# Sort order of a due list: overdue first, then due today, due soon, ok, removed.
STATUS_ORDER = {s: i for i, s in enumerate(STATUS_LABELS)}


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The hospital-calendar date of an aware instant (servers run in UTC)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware instant")
    return moment.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a hospital-calendar date begins (the inverse of ``local_date``)."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def interval_days(
    d: Dictionary,
    device_type: str,
    *,
    dressing_type: str = "TRANSPARENT",
    port_in_use: bool = False,
) -> int:
    """The device's default maintenance interval.

    Ports go by usage (idle: flush and lock; in use: needle change); external catheters by
    dressing type (transparent or gauze).
    """
    if device_type not in d.device_types:
        raise ValueError(f"unknown device type {device_type!r}")
    if device_type == "PORT":
        when = "PORT_IN_USE" if port_in_use else "PORT_IDLE"
    else:
        when = dressing_type
    try:
        return d.intervals[(device_type, when)]
    except KeyError:
        raise ValueError(f"no maintenance interval for {device_type}/{when}") from None


def cycle_days(
    d: Dictionary,
    device_type: str,
    *,
    dressing_type: str = "TRANSPARENT",
    port_in_use: bool = False,
    custom_cycle_days: int | None = None,
) -> int:
    """Days between maintenances for this catheter: a clinician's custom maintenance cycle, or
    the device rule. The tier plays no part: it sets follow-up, not maintenance (CLINICAL.md) —
    an idle port stays due every 4 weeks for a tier-A patient."""
    if custom_cycle_days is not None:
        if custom_cycle_days <= 0:
            raise ValueError("custom maintenance cycle must be at least 1 day")
        return custom_cycle_days
    return interval_days(d, device_type, dressing_type=dressing_type, port_in_use=port_in_use)


def next_due_on(
    d: Dictionary,
    device_type: str,
    last_maintained_on: date,
    *,
    dressing_type: str = "TRANSPARENT",
    port_in_use: bool = False,
    custom_cycle_days: int | None = None,
    explicit: date | None = None,
) -> date:
    """Next maintenance date: the clinician's explicit date if given (C3.3), else the last
    maintenance (or placement) date plus the cycle."""
    if explicit is not None:
        if explicit < last_maintained_on:
            raise ValueError("the next maintenance date cannot be before the last one")
        return explicit
    return last_maintained_on + timedelta(
        days=cycle_days(
            d,
            device_type,
            dressing_type=dressing_type,
            port_in_use=port_in_use,
            custom_cycle_days=custom_cycle_days,
        )
    )


def follow_up_cycle_days(
    d: Dictionary, tier: str, custom_cycle_days: int | None = None
) -> int | None:
    """Days between follow-up check-ins: a clinician's custom follow-up cycle, else the tier's
    (A every 3 days, B weekly); None when the tier has no follow-up beyond maintenance (C)."""
    if custom_cycle_days is not None:
        if custom_cycle_days <= 0:
            raise ValueError("custom follow-up cycle must be at least 1 day")
        return custom_cycle_days
    if tier not in d.tiers:
        raise ValueError(f"unknown tier {tier!r}")
    return d.tiers[tier].follow_up_days


def next_follow_up_on(
    d: Dictionary, tier: str, since: date, custom_cycle_days: int | None = None
) -> date | None:
    """The next follow-up date counted from ``since`` (the placement, the last check-in or the
    last time a nurse saw the patient), or None when the plan has no follow-up."""
    days = follow_up_cycle_days(d, tier, custom_cycle_days)
    return since + timedelta(days=days) if days else None


def due_after_findings(
    d: Dictionary, current_due: date, findings: list[str], seen_on: date
) -> date:
    """A loose, damp, soiled or bloody dressing makes maintenance due the same day."""
    if d.compromised_findings().intersection(findings):
        return min(current_due, seen_on)
    return current_due


def status_on(
    next_due: date | None, today: date, *, removed: bool = False, due_soon_days: int = 2
) -> DueStatus:
    """Maintenance status of a catheter on a local date.

    A catheter in place without a due date has never been scheduled: it needs a nurse to
    look at it today, so it is reported as due today.
    """
    if removed:
        return DueStatus.REMOVED
    if next_due is None:
        return DueStatus.DUE_TODAY
    days_left = (next_due - today).days
    if days_left < 0:
        return DueStatus.OVERDUE
    if days_left == 0:
        return DueStatus.DUE_TODAY
    if days_left <= due_soon_days:
        return DueStatus.DUE_SOON
    return DueStatus.OK


def days_overdue(next_due: date | None, today: date) -> int:
    if next_due is None:
        return 0
    return max(0, (today - next_due).days)


def needs_escalation(d: Dictionary, tier: str, next_due: date | None, today: date) -> bool:
    """Whether an overdue patient's tier says to tell the responsible nurse now."""
    after = d.tiers[tier].escalate_overdue_days if tier in d.tiers else None
    return after is not None and next_due is not None and days_overdue(next_due, today) >= after


def catheter_days(placed_on: date, removed_on: date | None, as_of: date) -> int:
    """Days from placement to removal, or to ``as_of`` while still in place."""
    end = min(removed_on, as_of) if removed_on else as_of
    return max(0, (end - placed_on).days)


def catheter_days_in_period(
    placed_on: date, removed_on: date | None, start: date, end: date
) -> int:
    """Catheter-days falling inside [start, end) — the denominator of period rates."""
    lo = max(placed_on, start)
    hi = min(removed_on, end) if removed_on else end
    return max(0, (hi - lo).days)


def clabsi_eligible(placed_on: date, event_on: date) -> bool:
    """NHSN: the line was in place more than 2 calendar days (placement day is day 1)."""
    return (event_on - placed_on).days >= 2


def dwell_exceeded(d: Dictionary, device_type: str, placed_on: date, today: date) -> bool:
    limit = d.device_types[device_type].max_dwell_days
    return limit is not None and (today - placed_on).days > limit


@dataclass(frozen=True)
class RedFlag:
    code: str
    message: str


def red_flags(
    d: Dictionary,
    *,
    baseline_external_cm: Decimal | None,
    external_cm: Decimal | None,
    baseline_arm_cm: Decimal | None,
    arm_cm: Decimal | None,
) -> list[RedFlag]:
    """Warnings to raise at a maintenance: possible migration or thrombosis."""
    flags: list[RedFlag] = []
    if baseline_external_cm is not None and external_cm is not None:
        change = Decimal(external_cm) - Decimal(baseline_external_cm)
        if abs(change) >= d.external_length_change_cm:
            flags.append(
                RedFlag(
                    "EXTERNAL_LENGTH_CHANGE",
                    f"外露长度较置管时变化 {change:+.1f}cm，警惕导管移位，请评估并考虑影像确认",
                )
            )
    if baseline_arm_cm is not None and arm_cm is not None:
        increase = Decimal(arm_cm) - Decimal(baseline_arm_cm)
        if increase >= d.arm_circumference_increase_cm:
            flags.append(
                RedFlag(
                    "ARM_CIRCUMFERENCE_INCREASE",
                    f"臂围较基线增加 {increase:.1f}cm，警惕导管相关性血栓，建议血管超声检查",
                )
            )
    return flags
