"""Date arithmetic the statistics need, in SQL for PostgreSQL and SQLite.

Timestamps (placement, maintenance, reminders) are stored in UTC; the indicators count by the
hospital's calendar. PostgreSQL converts with the zone's rules (``timezone(zone, ts)``); SQLite
has no zone database and shifts by the zone's offset on the report date, which is exact for a
zone without daylight saving (Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Integer, String, case, cast, func, literal
from sqlalchemy.dialects.postgresql import ARRAY

from bot.care import rules


class DateSql:
    """The date expressions of one dialect and one hospital time zone."""

    def __init__(self, dialect: str, tz: ZoneInfo, today: date) -> None:
        self.postgres = dialect == "postgresql"
        self.tz = tz
        offset = tz.utcoffset(datetime.combine(today, time()))
        self._offset = f"{int(offset.total_seconds() // 60):+d} minutes" if offset else "+0 minutes"

    def instant(self, day: date) -> datetime:
        """The UTC instant a local date begins (a bound for indexed timestamp columns).
        ValueError for a date at the ends of the calendar, where the shift overflows."""
        try:
            return rules.day_start(day, self.tz)
        except OverflowError:
            raise ValueError(f"date {day.isoformat()} is out of range") from None

    def day_start(self, day: Any) -> Any:
        """The UTC instant a date column's day begins in the hospital (compares with stored
        timestamps: sargable on PostgreSQL, the stored text format on SQLite)."""
        if self.postgres:
            return func.timezone(self.tz.key, cast(day, DateTime))
        minus = "-" + self._offset[1:] if self._offset[0] == "+" else "+" + self._offset[1:]
        return func.datetime(day, minus)

    def bucket(self, value: Any, bounds: list[Any], column_type: Any) -> Any:
        """The index (1 … n) of the bound range [bounds[i-1], bounds[i]) ``value`` falls in: a
        month of the period, from a timestamp against instants or a date against dates."""
        if self.postgres:
            return func.width_bucket(value, literal(bounds, ARRAY(column_type)))
        return case(
            *((value < bound, i) for i, bound in enumerate(bounds[1:], 1)),
            else_=len(bounds),
        )

    def local_date(self, moment: Any) -> Any:
        """The hospital-calendar date of a UTC timestamp column."""
        if self.postgres:
            return cast(func.timezone(self.tz.key, moment), Date)
        return func.date(moment, self._offset)

    def day(self, value: date) -> Any:
        return literal(value, Date)

    def days_between(self, later: Any, earlier: Any) -> Any:
        """Whole days from ``earlier`` to ``later`` (dates)."""
        if self.postgres:
            return later - earlier
        return cast(func.julianday(later) - func.julianday(earlier), Integer)

    def plus_days(self, day: Any, days: Any) -> Any:
        if self.postgres:
            return day + days
        return func.date(day, literal("+") + cast(days, String) + literal(" days"))

    def greatest(self, *values: Any) -> Any:
        return (func.greatest if self.postgres else func.max)(*values)

    def least(self, *values: Any) -> Any:
        return (func.least if self.postgres else func.min)(*values)

    def month(self, day: Any) -> Any:
        """ "2026-11" of a date."""
        if self.postgres:
            return func.to_char(day, "YYYY-MM")
        return func.strftime("%Y-%m", day)
