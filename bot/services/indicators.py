"""Quality indicators over removals and complications (CLINICAL.md, Measures). The first of
them: what the end of a line says about care — removals by reason, unplanned removals and those
a complication caused, with the catheter-days they are counted against. The dashboard and the
rest of the indicator set build on these (issue "statistics")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.models import Catheter, Removal
from bot.models.enums import PlacementSource


@dataclass(frozen=True)
class RemovalIndicators:
    start: date
    end: date  # exclusive
    total: int
    by_reason: dict[str, int] = field(default_factory=dict)
    unplanned: int = 0
    for_complication: int = 0  # removals linked to the complication that caused them
    catheter_days: int = 0

    def unplanned_per_1000_days(self) -> float | None:
        """非计划拔管率 (‰): unplanned removals ÷ catheter-days × 1000."""
        if not self.catheter_days:
            return None
        return round(self.unplanned * 1000 / self.catheter_days, 2)


def removals(
    session: Session,
    start: date,
    end: date,
    *,
    tz: ZoneInfo,
    device_type: str | None = None,
) -> RemovalIndicators:
    """Removals dated in [start, end), by reason; unplanned ones; those linked to a complication;
    and the catheter-days of the period for the same devices (the denominator). One grouped
    query for the removals, one pass over the catheters that were in place in the period."""
    query = (
        select(
            Removal.reason,
            func.count(),
            func.count().filter(Removal.unplanned.is_(True)),
            func.count().filter(Removal.complication_id.is_not(None)),
        )
        .join(Catheter, Catheter.id == Removal.catheter_id)
        .where(Removal.removed_on >= start, Removal.removed_on < end)
        .group_by(Removal.reason)
    )
    if device_type is not None:
        query = query.where(Catheter.device_type == device_type)
    by_reason: dict[str, int] = {}
    unplanned = linked = 0
    for reason, count, unplanned_count, linked_count in session.execute(query):
        by_reason[reason] = count
        unplanned += unplanned_count
        linked += linked_count
    days_query = select(
        Catheter.placed_at, Catheter.removed_on, Catheter.source, Catheter.created_at
    ).where((Catheter.removed_on.is_(None)) | (Catheter.removed_on >= start))
    if device_type is not None:
        days_query = days_query.where(Catheter.device_type == device_type)
    days = 0
    for placed_at, removed_on, source, created_at in session.execute(days_query):
        counted_from = rules.local_date(placed_at, tz)
        if source is PlacementSource.BROUGHT_IN:  # the days watched here (as the dashboard)
            counted_from = max(counted_from, rules.local_date(created_at, tz))
        days += rules.catheter_days_in_period(counted_from, removed_on, start, end)
    return RemovalIndicators(
        start=start,
        end=end,
        total=sum(by_reason.values()),
        by_reason=by_reason,
        unplanned=unplanned,
        for_complication=linked,
        catheter_days=days,
    )
