"""The aggregate queries behind the indicators. Each returns a few grouped rows — by calendar
month of the event and by device type, and with a breakdown by a catheter attribute too, in
the same pass (grouping sets on PostgreSQL) — never the records themselves; the indicators are
sums and ratios of these rows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    union_all,
)
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
    def narrowed(self) -> bool:
        """Whether the filters narrow the catheters."""
        f = self.filters
        return any(v is not None for v in (f.device_type, f.department_id, f.inserter_id)) or (
            f.institution_id is not None
        )

    @property
    def needs_catheter(self) -> bool:
        """Whether a query over events must join their catheters (filters or a breakdown)."""
        return self.group is not None or self.narrowed

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
        """The grouped rows, each month index turned into its label ("2026-11"); with both the
        months and a breakdown, a row of each grouping set says which (``by_month``)."""
        out = []
        for r in session.execute(query):
            row = dict(r._mapping)
            if row.get("month") is not None:
                row["month"] = self.buckets[int(row["month"]) - 1].label
            out.append(row)
        return out

    def narrow(self, query: Select[Any]) -> Select[Any]:
        """The catheter filters (device type, department, institution, inserter)."""
        return self.filters.narrow(query)

    def grouped(self, query: Select[Any], dims: list[Any]) -> Select[Any]:
        """Narrowed and grouped by ``dims``. With both the months and a breakdown, PostgreSQL
        counts the two in one pass (grouping sets: the months without the group, the groups
        without the month; ``by_month`` tells a row's set); SQLite groups by both, and the
        rows are folded either way."""
        query = self.narrow(query)
        if not (self.dates.postgres and self.by_month and self.group is not None):
            return query.group_by(*dims)
        months = [c for c in dims if getattr(c, "name", None) != "group"]
        groups = [c for c in dims if getattr(c, "name", None) != "month"]
        return query.add_columns(func.grouping(self.group).label("by_month")).group_by(
            func.grouping_sets(tuple_(*months), tuple_(*groups))
        )


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
    that set it, on or before the date.

    A maintenance record knows when the next one was done (``next_performed_at``, kept at
    every flush): its due dates in the period and whether they were met come from the due-date
    index alone. A placement's first due date is met when the index has a maintenance between
    the placement and the end of that day."""
    d, f = scope.dates, scope.filters
    lo, hi = f.start, scope.until
    first = _first_due(d, dictionary)
    longest = max(dictionary.intervals.values(), default=0)
    placed = Catheter.placed_at
    first_met = exists().where(
        MaintenanceRecord.catheter_id == Catheter.id,
        MaintenanceRecord.performed_at > placed,
        MaintenanceRecord.performed_at < d.day_start(d.plus_days(first, 1)),
    )
    placements = select(
        Catheter.id.label("catheter_id"), first.label("due"), first_met.label("met")
    ).where(
        placed < d.instant(hi),
        # sargable: the first due date comes at most the longest interval after placement,
        # unless a clinician set the catheter's own cycle
        or_(
            placed >= d.instant(lo - timedelta(days=longest)),
            Catheter.maintenance_cycle_days.is_not(None),
        ),
        Catheter.source != PlacementSource.BROUGHT_IN,
        first >= d.day(lo),
        first < d.day(hi),
    )
    record = MaintenanceRecord
    due_end = d.day_start(d.plus_days(record.next_due_on, 1))
    maintenances = select(
        record.catheter_id,
        record.next_due_on.label("due"),
        and_(record.next_performed_at.is_not(None), record.next_performed_at < due_end).label(
            "met"
        ),
    ).where(record.next_due_on >= lo, record.next_due_on < hi)
    found = union_all(placements, maintenances).subquery("found")
    dims = []
    if scope.by_month:
        starts = [b.start for b in scope.buckets] + [f.end]
        dims.append(d.bucket(found.c.due, starts, Date()).label("month"))
    if scope.group is not None:
        dims.append(scope.group.label("group"))
    query = (
        select(*dims, func.count().label("due"), func.count().filter(found.c.met).label("met"))
        .select_from(found)
        .join(Catheter, Catheter.id == found.c.catheter_id)
        .where(or_(Catheter.removed_on.is_(None), Catheter.removed_on > found.c.due))
    )
    return scope.rows(session, scope.grouped(query, dims))


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
    """The median dwell days of the period's removals (the middle one, or the mean of the
    middle two), from how many removals had each dwell."""
    query = (
        select(Removal.dwell_days, func.count())
        .select_from(Removal)
        .where(Removal.removed_on >= scope.filters.start, Removal.removed_on < scope.filters.end)
        .group_by(Removal.dwell_days)
    )
    if scope.narrowed:
        query = scope.narrow(query.join(Catheter, Catheter.id == Removal.catheter_id))
    counts = sorted((int(days), int(n)) for days, n in session.execute(query).tuples())
    n = sum(k for _, k in counts)
    if not n:
        return None
    wanted = {(n - 1) // 2, n // 2}  # the positions of the middle one or two
    middle, seen = [], 0
    for days, k in counts:
        middle += [days] * len({p for p in wanted if seen <= p < seen + k})
        seen += k
    return sum(middle) / len(middle)


def complications(session: Session, scope: Scope) -> list[Row]:
    d = scope.dates
    dims = [
        *scope.dims(Complication.onset_on),
        Complication.type.label("type"),
        Complication.grade.label("grade"),
    ]
    # NHSN: in place more than 2 calendar days on the event date (placement day is day 1), and
    # in place on the event date or the day before (removed the day before still counts)
    line_days = and_(
        d.days_between(Complication.onset_on, d.local_date(Catheter.placed_at)) >= 2,
        or_(
            Catheter.removed_on.is_(None),
            Complication.onset_on <= d.plus_days(Catheter.removed_on, 1),
        ),
    )
    query = (
        select(
            *dims,
            func.count().label("n"),
            func.count().filter(line_days).label("central_line_event"),
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
    up to the report date), and the catheters in place at the period's end; by device. A
    brought-in catheter counts from the later of its placement and its registration here (the
    local date of ``created_at``): the days the hospital watched it."""
    d, f = scope.dates, scope.filters
    # each catheter's days within the period [first, last), its local start date computed
    # once (OFFSET 0 keeps PostgreSQL from copying the expression into every month's sum)
    last_day = d.day(scope.until)
    brought_in = Catheter.source == PlacementSource.BROUGHT_IN
    placed_on = d.local_date(Catheter.placed_at)
    counted_from = case(
        (brought_in, d.greatest(placed_on, d.local_date(Catheter.created_at))), else_=placed_on
    )
    spans = scope.narrow(
        select(
            Catheter.device_type,
            *([scope.group.label("group")] if scope.group is not None else []),
            d.greatest(counted_from, d.day(f.start)).label("first"),
            d.least(func.coalesce(Catheter.removed_on, last_day), last_day).label("last"),
            Catheter.removed_on,
        ).where(
            Catheter.placed_at < d.instant(scope.until),
            or_(not_(brought_in), Catheter.created_at < d.instant(scope.until)),
            or_(Catheter.removed_on.is_(None), Catheter.removed_on > f.start),
        )
    )
    span = spans.offset(0).subquery("spans")
    columns = []
    for i, bucket in enumerate(scope.buckets):
        hi = d.day(bucket.until)
        days = d.days_between(
            d.least(span.c.last, hi), d.greatest(span.c.first, d.day(bucket.start))
        )
        columns.append(func.sum(d.greatest(days, 0)).label(f"days_{i}"))
    in_place = or_(span.c.removed_on.is_(None), span.c.removed_on >= scope.until)
    dims = [span.c.device_type.label("device")]
    if scope.group is not None:
        dims.append(span.c.group.label("group"))
    query = select(*dims, *columns, func.sum(case((in_place, 1), else_=0)).label("in_place"))
    grouped = replace(
        scope,
        filters=Filters(f.start, f.end),
        group=span.c.group if scope.group is not None else None,
    )
    rows = [dict(r._mapping) for r in session.execute(grouped.grouped(query, dims))]
    out: list[Row] = []
    for row in rows:
        for i, bucket in enumerate(scope.buckets):
            out.append(
                {
                    **{k: row[k] for k in ("device", "group", "by_month") if k in row},
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
    if scope.narrowed:
        query = query.join(Catheter, Catheter.id == Reminder.catheter_id)
    return scope.rows(session, scope.narrow(query).group_by(Reminder.channel))


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
    if scope.narrowed:
        query = query.join(Catheter, Catheter.id == FollowUp.catheter_id)
    row = session.execute(scope.narrow(query)).one()
    return {"sent": int(row.sent or 0), "answered": int(row.answered or 0)}
