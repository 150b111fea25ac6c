"""Statistics for the admin dashboard and the exports (A6.1): the quality indicators of a
period, computed in SQL over the whole history, with their definitions beside them.

The interface the dashboard, the exports and the low-code push share: ``Filters`` (a period and
what to narrow it to), ``compute`` → ``Dashboard`` (the indicators and the tables beside the
charts). Definitions: docs/indicators.md."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select

from bot.models import Catheter

NO_DATA = "无数据"
# the years a period may cover: far dates would overflow the date arithmetic (a 500)
FIRST_YEAR, LAST_YEAR = 2000, 2100
EARLIEST, LATEST = date(FIRST_YEAR, 1, 1), date(LAST_YEAR + 1, 1, 1)  # LATEST: an exclusive end


@dataclass(frozen=True)
class Filters:
    """A period [start, end) in the hospital's local dates, narrowed to a device type, a
    department, an institution or an inserter (None: all). Both dates within the years
    FIRST_YEAR … LAST_YEAR (the end may be 1 January after them), else ValueError."""

    start: date
    end: date  # exclusive
    device_type: str | None = None
    department_id: int | None = None
    institution_id: int | None = None
    inserter_id: int | None = None

    def __post_init__(self) -> None:
        for day in (self.start, self.end):
            if not EARLIEST <= day <= LATEST:
                raise ValueError(
                    f"period date {day.isoformat()} is outside {FIRST_YEAR}–{LAST_YEAR}"
                )

    def narrow(self, query: Select[Any]) -> Select[Any]:
        """``query`` (over catheters, or joined to them) limited to the catheters the filters
        name: device type, department, institution, inserter."""
        for column, value in (
            (Catheter.device_type, self.device_type),
            (Catheter.department_id, self.department_id),
            (Catheter.institution_id, self.institution_id),
            (Catheter.inserter_id, self.inserter_id),
        ):
            if value is not None:
                query = query.where(column == value)
        return query

    def as_params(self) -> dict[str, Any]:
        """JSON-able (the export log's ``params``)."""
        out = asdict(self)
        out["start"], out["end"] = self.start.isoformat(), self.end.isoformat()
        return out

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Filters:
        return cls(
            start=date.fromisoformat(params["start"]),
            end=date.fromisoformat(params["end"]),
            device_type=params.get("device_type") or None,
            department_id=params.get("department_id") or None,
            institution_id=params.get("institution_id") or None,
            inserter_id=params.get("inserter_id") or None,
        )


@dataclass(frozen=True)
class Indicator:
    code: str  # e.g. "unplanned_removal_picc"
    label: str  # 中文名称
    numerator: int | None
    denominator: int | None
    value: float | None  # None: no denominator in the period (shown as 无数据)
    unit: str  # "%", "‰" (per 1,000 catheter-days), "天", "例"
    definition: str  # numerator, denominator, inclusions, in Chinese

    @property
    def display(self) -> str:
        if self.value is None:
            return NO_DATA
        return f"{self.value:g}{self.unit}" if self.unit not in ("例", "天") else f"{self.value:g}"


@dataclass(frozen=True)
class Table:
    code: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    indicators: list[Indicator]
    tables: dict[str, Table]  # by Table.code


from .dashboard import compute  # noqa: E402 (the interface above is what it builds)

__all__ = [
    "EARLIEST",
    "FIRST_YEAR",
    "LAST_YEAR",
    "LATEST",
    "NO_DATA",
    "Dashboard",
    "Filters",
    "Indicator",
    "Table",
    "compute",
]
