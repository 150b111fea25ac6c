"""``compute``: the indicators of a period and the tables beside the dashboard's charts, from a
handful of grouped queries (queries.py) — by month and device type, and by the chosen breakdown.
The indicators are sums and ratios of those few rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Department, Institution, Staff
from bot.models.enums import Channel
from bot.services.reminders.history_view import CHANNEL_LABELS

from . import NO_DATA, Dashboard, Filters, Indicator, Table
from . import queries as q
from .definitions import CODES, DEFINITIONS, THROMBOSIS, UNPLANNED_BY_DEVICE
from .sql import DateSql

REMINDER_CHANNELS = (Channel.INAPP, Channel.MP, Channel.SMS)  # where reminders go
GROUP_TITLES = {
    None: "全部",
    "department": "科室",
    "institution": "机构",
    "inserter": "置管者",
    "device_type": "导管类型",
}
NOT_RECORDED = "未记录"
NAME_COLUMNS = {
    "department": (Department.id, Department.name),
    "institution": (Institution.id, Institution.name),
    "inserter": (Staff.id, Staff.name),
}

Row = dict[str, Any]


MEASURES = ("placements", "maintenances", "dues", "removals", "complications", "days")


@dataclass(frozen=True)
class Measures:
    """The grouped rows of one run of the queries."""

    placements: list[Row]
    maintenances: list[Row]
    dues: list[Row]
    removals: list[Row]
    complications: list[Row]
    days: list[Row]

    @classmethod
    def read(
        cls, session: Session, scope: q.Scope, dictionary: Dictionary
    ) -> tuple[Measures, Measures]:
        """The measures by month and by the scope's group (the same rows without a group):
        one query each, its rows split by their grouping set (PostgreSQL) or folded (SQLite,
        every row has both its month and its group)."""
        read = {
            "placements": q.placements(session, scope),
            "maintenances": q.maintenances(session, scope),
            "dues": q.dues(session, scope, dictionary),
            "removals": q.removals(session, scope),
            "complications": q.complications(session, scope),
            "days": q.catheter_days(session, scope),
        }
        by_month: dict[str, list[Row]] = {name: [] for name in MEASURES}
        by_group: dict[str, list[Row]] = {name: [] for name in MEASURES}
        for name, rows in read.items():
            for row in rows:
                kind = row.pop("by_month", None)
                if kind is None or kind:
                    by_month[name].append(row)
                if kind is None or not kind:
                    by_group[name].append(row)
        return cls(**by_month), cls(**by_group)

    def partition(self, key: str) -> dict[Any, Measures]:
        """The rows split by one of their keys ("month", "group", "device")."""
        parts: dict[Any, dict[str, list[Row]]] = {}
        for name in MEASURES:
            for row in getattr(self, name):
                part = parts.setdefault(row.get(key), {n: [] for n in MEASURES})
                part[name].append(row)
        return {value: Measures(**rows) for value, rows in parts.items()}

    def keys(self, name: str) -> set[Any]:
        return {row.get(name) for rows in (getattr(self, n) for n in MEASURES) for row in rows}

    @classmethod
    def empty(cls) -> Measures:
        return cls(**{name: [] for name in MEASURES})


def total(rows: Iterable[Row], field: str, where: Callable[[Row], bool] | None = None) -> int:
    return sum(int(r[field] or 0) for r in rows if where is None or where(r))


def ratio(numerator: int, denominator: int, per: int, digits: int = 2) -> float | None:
    """numerator ÷ denominator × per, or None without a denominator (无数据)."""
    if not denominator:
        return None
    return round(numerator * per / denominator, digits)


class Slice:
    """The main figures of one slice of the measures (a month, a group, or all)."""

    def __init__(self, m: Measures, dictionary: Dictionary, **match: Any) -> None:
        central = {code for code, t in dictionary.device_types.items() if t.central}
        clabsi = {
            c.code for c in dictionary.codes["complications"].values() if c.attrs.get("clabsi")
        }

        def pick(rows: list[Row], extra: Callable[[Row], bool] | None = None) -> list[Row]:
            return [
                r
                for r in rows
                if all(r.get(k) == v for k, v in match.items()) and (extra is None or extra(r))
            ]

        self.placements = total(pick(m.placements), "n")
        self.maintenances = total(pick(m.maintenances), "n")
        dues = pick(m.dues)
        self.due, self.met = total(dues, "due"), total(dues, "met")
        removals = pick(m.removals)
        self.removals, self.unplanned = total(removals, "n"), total(removals, "unplanned")
        self.dwell_days = total(removals, "dwell_days")
        days = pick(m.days)
        self.days = total(days, "days")
        complications = pick(m.complications)
        self.complications = total(complications, "n")
        self.clabsi = total(
            complications,
            "central_line_event",
            lambda r: r["type"] in clabsi and r["device"] in central,
        )
        self.central_days = total(days, "days", lambda r: r["device"] in central)
        self.thrombosis = total(complications, "n", lambda r: r["type"] == THROMBOSIS)
        self.unplanned_by = {
            device: (
                total([r for r in removals if r["device"] == device], "unplanned"),
                total([r for r in days if r["device"] == device], "days"),
            )
            for device in UNPLANNED_BY_DEVICE
        }

    @property
    def on_time(self) -> float | None:
        return ratio(self.met, self.due, 100, 1)

    @property
    def complication_rate(self) -> float | None:
        return ratio(self.complications, self.days, 1000)

    @property
    def clabsi_rate(self) -> float | None:
        return ratio(self.clabsi, self.central_days, 1000)


def _indicator(code: str, numerator: int | None, denominator: int | None, value: Any) -> Indicator:
    d = DEFINITIONS[code]
    return Indicator(code, d.label, numerator, denominator, value, d.unit, d.text)


def _count(code: str, n: int) -> Indicator:
    return _indicator(code, n, None, n)


def _rate(code: str, numerator: int, denominator: int) -> Indicator:
    per, digits = (100, 1) if DEFINITIONS[code].unit == "%" else (1000, 2)
    return _indicator(code, numerator, denominator, ratio(numerator, denominator, per, digits))


def _indicators(
    s: Slice, median: float | None, reach: dict[str, tuple[int, int]], follow: Row
) -> list[Indicator]:
    picc, cvc = s.unplanned_by["PICC"], s.unplanned_by["CVC"]
    sent = sum(v[0] for v in reach.values())
    reached = sum(v[1] for v in reach.values())
    by_code = {
        "placements": _count("placements", s.placements),
        "maintenances": _count("maintenances", s.maintenances),
        "maintenance_on_time": _rate("maintenance_on_time", s.met, s.due),
        "removals": _count("removals", s.removals),
        "dwell_days_mean": _indicator(
            "dwell_days_mean", s.dwell_days, s.removals, ratio(s.dwell_days, s.removals, 1, 1)
        ),
        "dwell_days_median": _indicator("dwell_days_median", None, s.removals, median),
        "catheter_days": _count("catheter_days", s.days),
        "complications": _count("complications", s.complications),
        "complication_rate": _rate("complication_rate", s.complications, s.days),
        "clabsi_rate": _rate("clabsi_rate", s.clabsi, s.central_days),
        "unplanned_removal": _rate("unplanned_removal", s.unplanned, s.days),
        "unplanned_removal_picc": _rate("unplanned_removal_picc", *picc),
        "unplanned_removal_cvc": _rate("unplanned_removal_cvc", *cvc),
        "thrombosis_rate": _rate("thrombosis_rate", s.thrombosis, s.days),
        "reminder_reach": _rate("reminder_reach", reached, sent),
        "follow_up_response": _rate("follow_up_response", follow["answered"], follow["sent"]),
    }
    for channel in REMINDER_CHANNELS:
        code = f"reminder_reach_{channel.value}"
        by_code[code] = _rate(code, reach[channel.value][1], reach[channel.value][0])
    return [by_code[code] for code in CODES]


def months(start: date, end: date, until: date) -> tuple[q.Bucket, ...]:
    """The calendar months of [start, end), each clipped to the period, its days counted up to
    ``until`` (the report date)."""
    out = []
    lo = start
    while lo < end:
        following = date(lo.year + lo.month // 12, lo.month % 12 + 1, 1)
        hi = min(following, end)
        out.append(q.Bucket(f"{lo:%Y-%m}", lo, max(lo, min(hi, until))))
        lo = hi
    return tuple(out)


def compute(
    session: Session,
    filters: Filters,
    *,
    tz: ZoneInfo,
    today: date,
    dictionary: Dictionary,
    group_by: str | None = None,
) -> Dashboard:
    """The indicators of ``filters``' period and the dashboard's tables ("indicators",
    "monthly", "complications_by_type", "removals_by_reason", "device_mix", "reminder_reach",
    "breakdown" by ``group_by``: None, "department", "institution", "inserter" or
    "device_type"). Days in place are counted up to ``today``. A table cell of None is 无数据."""
    if group_by is not None and group_by not in q.GROUP_COLUMNS:
        raise ValueError(f"unknown grouping {group_by!r}")
    if filters.end <= filters.start:
        raise ValueError("the period ends before it starts")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # a dozen short aggregates: compiling them (JIT) costs more than running them
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    dates = DateSql(dialect, tz, today)
    until = max(filters.start, min(filters.end, today))
    group = q.GROUP_COLUMNS[group_by] if group_by is not None else None
    scope = q.Scope(filters, dates, months(filters.start, filters.end, until), until, group=group)
    m, by_group = Measures.read(session, scope, dictionary)
    every = Slice(m, dictionary)
    reach = {c.value: (0, 0) for c in REMINDER_CHANNELS}
    for row in q.reminders(session, scope):
        reach[str(row["channel"])] = (int(row["sent"]), int(row["reached"]))
    indicators = _indicators(
        every, q.median_dwell(session, scope), reach, q.follow_ups(session, scope)
    )
    tables = [
        _indicator_table(indicators),
        _monthly(m, scope.buckets, dictionary),
        _complications(m, every, dictionary),
        _removal_reasons(m, every, dictionary),
        _device_mix(m, dictionary),
        _reach(reach),
        _breakdown(session, by_group, dictionary, group_by, every),
    ]
    return Dashboard(filters, indicators, {t.code: t for t in tables})


def _indicator_table(indicators: list[Indicator]) -> Table:
    rows = [
        [
            i.label,
            i.numerator,
            i.denominator,
            NO_DATA if i.value is None else i.value,
            i.unit,
            i.definition,
        ]
        for i in indicators
    ]
    return Table("indicators", "质量指标", ["指标", "分子", "分母", "值", "单位", "定义"], rows)


MONTHLY_COLUMNS = [
    "月份",
    "置管例数",
    "维护例次",
    "维护及时率(%)",
    "拔管例数",
    "非计划拔管例数",
    "并发症例数",
    "导管日数",
    "并发症发生率(‰)",
]


def _monthly(m: Measures, buckets: tuple[q.Bucket, ...], dictionary: Dictionary) -> Table:
    rows = []
    parts = m.partition("month")
    for bucket in buckets:
        s = Slice(parts.get(bucket.label, Measures.empty()), dictionary)
        rows.append(
            [
                bucket.label,
                s.placements,
                s.maintenances,
                s.on_time,
                s.removals,
                s.unplanned,
                s.complications,
                s.days,
                s.complication_rate,
            ]
        )
    return Table("monthly", "逐月趋势", MONTHLY_COLUMNS, rows)


def _ordered(codes: set[Any], known: Iterable[str]) -> list[Any]:
    """The dictionary's order, then codes it no longer has (old data)."""
    order = [c for c in known if c in codes]
    return order + sorted(c for c in codes if c not in order and c is not None)


def _complications(m: Measures, every: Slice, dictionary: Dictionary) -> Table:
    counts: dict[tuple[str, int | None], int] = {}
    for r in m.complications:
        key = (r["type"], r["grade"])
        counts[key] = counts.get(key, 0) + int(r["n"])
    known = list(dictionary.codes["complications"])
    rows = []
    for code in _ordered({t for t, _ in counts}, known):
        grades = sorted((g for t, g in counts if t == code), key=lambda g: (g is None, g or 0))
        for grade in grades:
            n = counts[(code, grade)]
            rows.append(
                [
                    dictionary.label("complications", code),
                    "未分级" if grade is None else f"{grade}级",
                    n,
                    ratio(n, every.days, 1000),
                ]
            )
    return Table(
        "complications_by_type",
        "并发症（按类型与分级）",
        ["并发症类型", "分级", "例数", "每千导管日(‰)"],
        rows,
    )


def _removal_reasons(m: Measures, every: Slice, dictionary: Dictionary) -> Table:
    counts: dict[str, tuple[int, int]] = {}
    for r in m.removals:
        n, unplanned = counts.get(r["reason"], (0, 0))
        counts[r["reason"]] = (n + int(r["n"]), unplanned + int(r["unplanned"]))
    rows = [
        [
            dictionary.label("removal_reasons", reason),
            counts[reason][0],
            counts[reason][1],
            ratio(counts[reason][0], every.removals, 100, 1),
        ]
        for reason in _ordered(set(counts), dictionary.codes["removal_reasons"])
    ]
    return Table(
        "removals_by_reason", "拔管原因", ["拔管原因", "例数", "其中非计划", "占比(%)"], rows
    )


def _device_mix(m: Measures, dictionary: Dictionary) -> Table:
    rows = []
    for device in _ordered(
        m.keys("device") | set(dictionary.device_types), dictionary.device_types
    ):
        s = Slice(m, dictionary, device=device)
        in_place = total([r for r in m.days if r["device"] == device], "in_place")
        rows.append([dictionary.label("device_types", device), s.placements, in_place, s.days])
    return Table(
        "device_mix", "导管类型构成", ["导管类型", "置管例数", "期末在位", "导管日数"], rows
    )


def _reach(reach: dict[str, tuple[int, int]]) -> Table:
    rows = [
        [
            CHANNEL_LABELS.get(Channel(code), code),
            sent,
            reached,
            ratio(reached, sent, 100, 1),
        ]
        for code, (sent, reached) in reach.items()
    ]
    return Table(
        "reminder_reach", "提醒送达（按渠道）", ["渠道", "发出", "送达", "送达率(%)"], rows
    )


BREAKDOWN_COLUMNS = [
    "置管例数",
    "维护例次",
    "维护及时率(%)",
    "拔管例数",
    "非计划拔管例数",
    "导管日数",
    "并发症例数",
    "并发症发生率(‰)",
    "CLABSI(‰)",
]


def _breakdown(
    session: Session,
    m: Measures,
    dictionary: Dictionary,
    group_by: str | None,
    every: Slice,
) -> Table:
    """The main figures by ``group_by`` (one row "全部" without a grouping)."""
    title = GROUP_TITLES[group_by]
    slices: list[tuple[str, Slice]] = [("全部", every)]
    if group_by is not None:
        parts = m.partition("group")
        labels = _group_labels(session, group_by, set(parts), dictionary)
        groups = sorted(parts, key=lambda g: (g is None, labels[g]))
        slices = [(labels[g], Slice(parts[g], dictionary)) for g in groups]
    rows = []
    for label, s in slices:
        rows.append(
            [
                label,
                s.placements,
                s.maintenances,
                s.on_time,
                s.removals,
                s.unplanned,
                s.days,
                s.complications,
                s.complication_rate,
                s.clabsi_rate,
            ]
        )
    return Table(
        "breakdown", f"按{title}分组" if group_by else "合计", [title, *BREAKDOWN_COLUMNS], rows
    )


def _group_labels(
    session: Session, group_by: str, keys: set[Any], dictionary: Dictionary
) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if group_by == "device_type":
        labels = {k: dictionary.label("device_types", k) for k in ids}
    else:
        key, name = NAME_COLUMNS[group_by]
        names = dict(session.execute(select(key, name).where(key.in_(ids))).tuples().all())
        labels = {k: str(names.get(k, f"#{k}")) for k in ids}
    labels[None] = NOT_RECORDED
    return labels
