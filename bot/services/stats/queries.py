"""The aggregate queries behind the indicators. Each returns a few grouped rows — by calendar
month of the event (or by a catheter attribute for the breakdown) and by device type — never
the records themselves; the indicators are sums and ratios of these rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, and_, case, exists, func, literal, not_, or_, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    FollowUp,
    MaintenanceRecord,
    OutboxMessage,
    Reminder,
    Removal,
)
from bot.models.enums import DeliveryStatus, FollowUpStatus, PlacementSource
from bot.services.reminders.common import OUTBOX_KEY

from . import Filters
from .sql import DateSql

Row = dict[str, Any]

GROUP_COLUMNS = {
    "department": Catheter.department_id,
    "institution": Catheter.institution_id,
    "inserter": Catheter.inserter_id,
    "device_type": Catheter.device_type,
}
REACHED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
NOT_YET_OUT = (DeliveryStatus.PENDING, DeliveryStatus.SKIPPED)


@dataclass(frozen=True)
class Bucket:
    label: str  # "2026-11"
    start: date
    until: date  # exclusive; the period's end capped at the report date


@dataclass(frozen=True)
class Scope:
    """What one run of the queries counts: the filters, the months, the grouping."""

    filters: Filters
    dates: DateSql
    buckets: tuple[Bucket, ...]  # the months of the period (clipped to it)
    until: date  # the period's end capped at the report date (catheter-days, dues)
    by_month: bool = True
    group: Any = None  # a Catheter column (the breakdown) or None

    @property
    def needs_catheter(self) -> bool:
        """Whether a query over events must join their catheters (filters or a breakdown)."""
        f = self.filters
        narrowed = (f.device_type, f.department_id, f.institution_id, f.inserter_id)
        return self.group is not None or any(v is not None for v in narrowed)

    def dims(self, event: Any, *, instant: bool = False, device: bool = True) -> list[Any]:
        """The grouping columns of a query over events at ``event`` (a date column, or a UTC
        timestamp column with ``instant``): the month of the period (its index, 1 …), the
        breakdown's group, the device type."""
        out = [Catheter.device_type.label("device")] if device else []
        if self.by_month:
            starts = [b.start for b in self.buckets] + [self.filters.end]
            if instant:
                bounds = [self.dates.instant(day) for day in starts]
                out.append(self.dates.bucket(event, bounds, Catheter.placed_at.type).label("month"))
            else:
                out.append(self.dates.bucket(event, starts, Date()).label("month"))
        if self.group is not None:
            out.append(self.group.label("group"))
        return out

    def rows(self, session: Session, query: Select[Any]) -> list[Row]:
        """The grouped rows, each month index turned into its label ("2026-11")."""
        out = []
        for r in session.execute(query):
            row = dict(r._mapping)
            if "month" in row:
                row["month"] = self.buckets[int(row["month"]) - 1].label
            out.append(row)
        return out

    def narrow(self, query: Select[Any]) -> Select[Any]:
        """The catheter filters (device type, department, institution, inserter)."""
        f = self.filters
        for column, value in (
            (Catheter.device_type, f.device_type),
            (Catheter.department_id, f.department_id),
            (Catheter.institution_id, f.institution_id),
            (Catheter.inserter_id, f.inserter_id),
        ):
            if value is not None:
                query = query.where(column == value)
        return query

    def grouped(self, query: Select[Any], dims: list[Any]) -> Select[Any]:
        return self.narrow(query).group_by(*dims)


def _between(column: Any, scope: Scope) -> Any:
    """A UTC timestamp column within the period's local dates (uses the column's index)."""
    d, f = scope.dates, scope.filters
    return and_(column >= d.instant(f.start), column < d.instant(f.end))


def placements(session: Session, scope: Scope) -> list[Row]:
    dims = scope.dims(Catheter.placed_at, instant=True)
    query = select(*dims, func.count().label("n")).where(_between(Catheter.placed_at, scope))
    return scope.rows(session, scope.grouped(query, dims))


def maintenances(session: Session, scope: Scope) -> list[Row]:
    dims = scope.dims(MaintenanceRecord.performed_at, instant=True, device=False)
    query = (
        select(*dims, func.count().label("n"))
        .select_from(MaintenanceRecord)
        .where(_between(MaintenanceRecord.performed_at, scope))
    )
    if scope.needs_catheter:
        query = query.join(Catheter, Catheter.id == MaintenanceRecord.catheter_id)
    return scope.rows(session, scope.grouped(query, dims))


def _first_due(d: DateSql, dictionary: Dictionary) -> Any:
    """The first due date after placement: placement date + the device rule's interval (ports
    idle, others by dressing type), as placements.register sets it."""
    whens = []
    for (device, when), days in sorted(dictionary.intervals.items()):
        if device == "PORT":
            if when == "PORT_IDLE":
                whens.append((Catheter.device_type == device, days))
        else:
            whens.append(
                (and_(Catheter.device_type == device, Catheter.dressing_type == when), days)
            )
    interval = func.coalesce(Catheter.maintenance_cycle_days, case(*whens, else_=None))
    return d.plus_days(d.local_date(Catheter.placed_at), interval)


def dues(session: Session, scope: Scope, dictionary: Dictionary) -> list[Row]:
    """Maintenance due dates that passed in the period, and how many were met: each due date
    set — the first after placement, and the next due date of each maintenance — while the
    catheter was in place on it; met when a maintenance came after the one (or the placement)
    that set it, on or before the date. One index probe per due date."""
    d, f = scope.dates, scope.filters
    lo, hi = d.day(f.start), d.day(scope.until)
    first = _first_due(d, dictionary)
    later = aliased(MaintenanceRecord)

    def met(catheter_id: Any, after: Any, due: Any) -> Any:
        # computed in each branch, so PostgreSQL's parallel workers share the probes
        return exists().where(
            later.catheter_id == catheter_id,
            later.performed_at > after,
            later.performed_at < d.day_start(d.plus_days(due, 1)),
        )

    in_place = or_(Catheter.removed_on.is_(None), Catheter.removed_on > first)
    from_placement = scope.narrow(
        select(
            Catheter.id.label("catheter_id"),
            first.label("due"),
            met(Catheter.id, Catheter.placed_at, first).label("met"),
        ).where(
            Catheter.placed_at < d.instant(scope.until),
            Catheter.source != PlacementSource.BROUGHT_IN,
            first >= lo,
            first < hi,
            in_place,
        )
    )
    due_on = MaintenanceRecord.next_due_on
    from_maintenance = scope.narrow(
        select(
            MaintenanceRecord.catheter_id,
            due_on.label("due"),
            met(MaintenanceRecord.catheter_id, MaintenanceRecord.performed_at, due_on).label("met"),
        )
        .select_from(MaintenanceRecord)
        .join(Catheter, Catheter.id == MaintenanceRecord.catheter_id)
        .where(
            due_on >= lo,
            due_on < hi,
            or_(Catheter.removed_on.is_(None), Catheter.removed_on > due_on),
        )
    )
    if scope.group is not None:
        from_placement = from_placement.add_columns(scope.group.label("group"))
        from_maintenance = from_maintenance.add_columns(scope.group.label("group"))
    due = union_all(from_placement, from_maintenance).subquery("dues")
    dims = []
    if scope.by_month:
        starts = [b.start for b in scope.buckets] + [f.end]
        dims.append(d.bucket(due.c.due, starts, Date()).label("month"))
    if scope.group is not None:
        dims.append(due.c.group.label("group"))
    query = select(
        *dims,
        func.count().label("due"),
        func.count().filter(due.c.met).label("met"),
    ).select_from(due)
    return scope.rows(session, query.group_by(*dims))


def removals(session: Session, scope: Scope) -> list[Row]:
    dims = [*scope.dims(Removal.removed_on), Removal.reason.label("reason")]
    query = (
        select(
            *dims,
            func.count().label("n"),
            func.count().filter(Removal.unplanned.is_(True)).label("unplanned"),
            func.coalesce(func.sum(Removal.dwell_days), 0).label("dwell_days"),
        )
        .select_from(Removal)
        .join(Catheter, Catheter.id == Removal.catheter_id)
        .where(Removal.removed_on >= scope.filters.start, Removal.removed_on < scope.filters.end)
    )
    return scope.rows(session, scope.grouped(query, dims))


def median_dwell(session: Session, scope: Scope) -> float | None:
    """The median dwell days of the period's removals: the middle one or two, by the
    database's sort."""
    where = scope.narrow(
        select(Removal.dwell_days)
        .select_from(Removal)
        .join(Catheter, Catheter.id == Removal.catheter_id)
        .where(Removal.removed_on >= scope.filters.start, Removal.removed_on < scope.filters.end)
    )
    n = session.scalar(select(func.count()).select_from(where.subquery())) or 0
    if not n:
        return None
    middle = list(
        session.scalars(where.order_by(Removal.dwell_days).limit(2 - n % 2).offset((n - 1) // 2))
    )
    return sum(middle) / len(middle)


def complications(session: Session, scope: Scope) -> list[Row]:
    d = scope.dates
    dims = [
        *scope.dims(Complication.onset_on),
        Complication.type.label("type"),
        Complication.grade.label("grade"),
    ]
    # NHSN: in place more than 2 calendar days on the event date (placement day is day 1)
    past_day_2 = d.days_between(Complication.onset_on, d.local_date(Catheter.placed_at)) >= 2
    query = (
        select(
            *dims,
            func.count().label("n"),
            func.count().filter(past_day_2).label("past_day_2"),
        )
        .select_from(Complication)
        .join(Catheter, Catheter.id == Complication.catheter_id)
        .where(
            Complication.onset_on >= scope.filters.start, Complication.onset_on < scope.filters.end
        )
    )
    return scope.rows(session, scope.grouped(query, dims))


def catheter_days(session: Session, scope: Scope) -> list[Row]:
    """Days in place within each month of the period (placement day counted, removal day not,
    up to the report date), and the catheters in place at the period's end; by device."""
    d, f = scope.dates, scope.filters
    placed_on = d.local_date(Catheter.placed_at)
    columns = []
    for i, bucket in enumerate(scope.buckets):
        hi = d.day(bucket.until)
        end = d.least(func.coalesce(Catheter.removed_on, hi), hi)
        days = d.days_between(end, d.greatest(placed_on, d.day(bucket.start)))
        columns.append(func.sum(d.greatest(days, 0)).label(f"days_{i}"))
    in_place = or_(Catheter.removed_on.is_(None), Catheter.removed_on >= scope.until)
    dims = [Catheter.device_type.label("device")]
    if scope.group is not None:
        dims.append(scope.group.label("group"))
    query = select(
        *dims,
        *columns,
        func.sum(case((in_place, 1), else_=0)).label("in_place"),
    ).where(
        Catheter.placed_at < d.instant(scope.until),
        or_(Catheter.removed_on.is_(None), Catheter.removed_on > f.start),
    )
    rows = [dict(r._mapping) for r in session.execute(scope.grouped(query, dims))]
    out: list[Row] = []
    for row in rows:
        for i, bucket in enumerate(scope.buckets):
            out.append(
                {
                    **{k: row[k] for k in ("device", "group") if k in row},
                    "month": bucket.label,
                    "days": int(row[f"days_{i}"] or 0),
                    "in_place": int(row["in_place"] or 0) if i == 0 else 0,
                }
            )
    return out


def reminders(session: Session, scope: Scope) -> list[Row]:
    """Reminders written in the period by channel: how many went out, how many reached the
    patient (in-app written; WeChat or SMS accepted, the closed-window fallback included)."""
    first = aliased(OutboxMessage)
    fallback = aliased(OutboxMessage)
    reached = or_(
        Reminder.status.in_(REACHED), first.status.in_(REACHED), fallback.status.in_(REACHED)
    )
    out = not_(Reminder.status.in_(NOT_YET_OUT))
    query = (
        select(
            Reminder.channel.label("channel"),
            func.count().filter(out).label("sent"),
            func.count().filter(and_(out, reached)).label("reached"),
        )
        .select_from(Reminder)
        .outerjoin(first, first.dedupe_key == OUTBOX_KEY)
        .outerjoin(fallback, fallback.dedupe_key == OUTBOX_KEY + literal(":fallback"))
        .where(_between(Reminder.created_at, scope))
    )
    if scope.needs_catheter:
        query = query.join(Catheter, Catheter.id == Reminder.catheter_id)
    return scope.rows(session, scope.grouped(query, [Reminder.channel]))


def follow_ups(session: Session, scope: Scope) -> Row:
    answered = FollowUp.status == FollowUpStatus.ANSWERED
    sent = and_(
        FollowUp.sent_at.is_not(None), or_(FollowUp.status != FollowUpStatus.STOPPED, answered)
    )
    query = (
        select(
            func.count().filter(sent).label("sent"),
            func.count().filter(and_(sent, answered)).label("answered"),
        )
        .select_from(FollowUp)
        .where(FollowUp.due_on >= scope.filters.start, FollowUp.due_on < scope.filters.end)
    )
    if scope.needs_catheter:
        query = query.join(Catheter, Catheter.id == FollowUp.catheter_id)
    row = session.execute(scope.narrow(query)).one()
    return {"sent": int(row.sent or 0), "answered": int(row.answered or 0)}
