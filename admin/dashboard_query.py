"""The statistics dashboard's query string (A6.1): a period and filters read from GET
parameters, checked, and written back in one normal form that the charts, their cache and the
export links share.

Read: ``period`` (a quick choice, see ``PRESETS``), else ``start`` and the inclusive ``to``
(the form's date inputs) or the exclusive ``end`` (links); ``device_type``,
``department_id``, ``institution_id``, ``inserter_id`` and ``group_by``. A bad value is not an
error page: it is named in a Chinese message, and the default period (本月 up to today) or no
filter is used instead. Written: ``start`` and ``end`` (exclusive, as ``Filters.as_params``)
and the filters that are set.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from bot.services.stats import EARLIEST, FIRST_YEAR, LAST_YEAR, LATEST, Filters
from bot.services.stats.periods import previous_month

PRESETS = {
    "this_month": "本月",
    "last_month": "上月",
    "this_quarter": "本季度",
    "this_year": "今年",
    "last_12_months": "近12个月",
}
DEFAULT_PRESET = "this_month"
MAX_YEARS = 5
ID_FILTERS = {"department_id": "科室", "institution_id": "机构", "inserter_id": "置管者"}


def _months_back(day: date, months: int) -> date:
    """The first of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def preset_period(code: str, today: date) -> tuple[date, date]:
    """[start, end) of a quick choice; periods that include today end after today."""
    tomorrow = today + timedelta(days=1)
    month_start = today.replace(day=1)
    if code == "last_month":
        return previous_month(today)
    if code == "this_quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), tomorrow
    if code == "this_year":
        return today.replace(month=1, day=1), tomorrow
    if code == "last_12_months":
        return _months_back(today, 11), tomorrow
    return month_start, tomorrow


@dataclass(frozen=True)
class Query:
    filters: Filters
    group_by: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def last_day(self) -> date:
        """The period's last day, inclusive (what the form shows)."""
        return self.filters.end - timedelta(days=1)

    def params(self, *, group_by: bool = True) -> dict[str, str]:
        """The normal form: start, end (exclusive) and the filters that are set."""
        f = self.filters
        out = {"start": f.start.isoformat(), "end": f.end.isoformat()}
        for key in ("device_type", "department_id", "institution_id", "inserter_id"):
            value = getattr(f, key)
            if value is not None:
                out[key] = str(value)
        if group_by and self.group_by:
            out["group_by"] = self.group_by
        return out

    def query_string(self, *, group_by: bool = True) -> str:
        return urlencode(self.params(group_by=group_by))

    def preset(self, today: date) -> str | None:
        """The quick choice whose period this is, if any (shown as chosen)."""
        period = (self.filters.start, self.filters.end)
        return next((c for c in PRESETS if preset_period(c, today) == period), None)


def _date(text: str, label: str, errors: list[str], *, exclusive: bool = False) -> date | None:
    """A date of the years FIRST_YEAR … LAST_YEAR (an ``exclusive`` end: up to 1 January
    after them), else None and the reason in ``errors``."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors.append(f"{label}“{text}”不是有效日期（格式：2026-01-31）")
        return None
    if not EARLIEST <= day <= (LATEST if exclusive else LATEST - timedelta(days=1)):
        errors.append(f"{label}“{text}”超出可统计的年份（{FIRST_YEAR}–{LAST_YEAR}年）")
        return None
    return day


def _period(args: Mapping[str, str], today: date, errors: list[str]) -> tuple[date, date]:
    default = preset_period(DEFAULT_PRESET, today)
    code = (args.get("period") or "").strip()
    if code:
        if code in PRESETS:
            return preset_period(code, today)
        errors.append(f"快捷时段“{code}”无效")
        return default
    start_text = (args.get("start") or "").strip()
    to_text, end_text = (args.get("to") or "").strip(), (args.get("end") or "").strip()
    if not start_text and not to_text and not end_text:
        return default
    start = _date(start_text, "开始日期", errors) if start_text else default[0]
    if to_text:
        last = _date(to_text, "结束日期", errors)
        end = last + timedelta(days=1) if last else None
    elif end_text:
        end = _date(end_text, "结束日期", errors, exclusive=True)
    else:
        end = max(today + timedelta(days=1), (start or today) + timedelta(days=1))
    if start is None or end is None:
        return _default_period_told(default, errors)
    if end <= start:
        errors.append("结束日期早于开始日期")
        return _default_period_told(default, errors)
    if end > _add_years(start, MAX_YEARS):
        errors.append(f"统计区间不能超过{MAX_YEARS}年")
        return _default_period_told(default, errors)
    return start, end


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _default_period_told(default: tuple[date, date], errors: list[str]) -> tuple[date, date]:
    errors.append(f"已改为显示{PRESETS[DEFAULT_PRESET]}的数据")
    return default


def _id(args: Mapping[str, str], key: str, known: Collection[int], errors: list[str]) -> int | None:
    text = (args.get(key) or "").strip()
    if not text:
        return None
    if text.isdigit() and int(text) in known:
        return int(text)
    errors.append(f"{ID_FILTERS[key]}“{text}”不存在，已忽略该条件")
    return None


def parse(
    args: Mapping[str, str],
    today: date,
    *,
    device_types: Collection[str],
    known_ids: Mapping[str, Collection[int]],
    group_bys: Collection[str],
) -> Query:
    """The query of a request: never raises; what was wrong is in ``errors``.
    ``known_ids`` holds the ids that exist per id filter (department_id …)."""
    errors: list[str] = []
    start, end = _period(args, today, errors)
    device = (args.get("device_type") or "").strip() or None
    if device is not None and device not in device_types:
        errors.append(f"导管类型“{device}”不存在，已忽略该条件")
        device = None
    ids = {key: _id(args, key, known_ids.get(key, ()), errors) for key in ID_FILTERS}
    group_by = (args.get("group_by") or "").strip() or None
    if group_by is not None and group_by not in group_bys:
        errors.append(f"分组方式“{group_by}”无效，已忽略")
        group_by = None
    filters = Filters(start=start, end=end, device_type=device, **ids)
    return Query(filters=filters, group_by=group_by, errors=tuple(errors))


def default_query(today: date) -> Query:
    start, end = preset_period(DEFAULT_PRESET, today)
    return Query(filters=Filters(start=start, end=end))


def with_period(query: Query, start: date, end: date) -> Query:
    return replace(query, filters=replace(query.filters, start=start, end=end))
