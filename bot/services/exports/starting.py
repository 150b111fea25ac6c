"""Asking for an export (A6.2): what may be exported, by whom, and how much at once.

``start_export`` checks the request, counts the rows first (one COUNT, nothing written yet),
refuses above the limit with the reason, and adds the export-log row (queued, keyed by its RQ
job id ``export-<id>``). The caller commits and enqueues ``bot.jobs.exports.run_export``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.models import ExportLog, Staff
from bot.models.enums import ExportStatus, StaffRole
from bot.services.stats import Filters

from .records import KINDS
from .writers import FORMATS

TABLE_PREFIX = "table:"
# the dashboard's tables (bot.services.stats.compute → Dashboard.tables, by code)
TABLES = {
    "indicators": "质量指标",
    "monthly": "月度趋势",
    "complications_by_type": "并发症类型分布",
    "removals_by_reason": "拔管原因分布",
    "device_mix": "导管类型构成",
    "reminder_reach": "提醒触达",
    "breakdown": "分组统计",
}
# other kinds the export log keeps (written elsewhere)
OTHER_KINDS = {"trace_pdf": "一键溯源 PDF", "indicators_monthly": "月度指标集（定时）"}
MIN_REASON = 4  # characters of the reason stated for full identifiers, e.g. "科研统计"


class ExportRefused(ValueError):
    """The export was not started; the message says why, in Chinese."""


def kind_label(kind: str) -> str:
    if kind.startswith(TABLE_PREFIX):
        code = kind[len(TABLE_PREFIX) :]
        return f"统计表：{TABLES.get(code, code)}"
    record = KINDS.get(kind)
    return record.label if record else OTHER_KINDS.get(kind, kind)


def kinds() -> list[tuple[str, str]]:
    """(kind, label) of everything that can be exported, as the form offers them."""
    return [(k, r.label) for k, r in KINDS.items()] + [
        (TABLE_PREFIX + code, kind_label(TABLE_PREFIX + code)) for code in TABLES
    ]


def may_see_identifiers(staff: Staff) -> bool:
    return staff.role is StaffRole.ADMIN and staff.may_export_identifiers


def count_rows(session: Session, kind: str, filters: Filters, tz: ZoneInfo) -> int | None:
    """Rows a record export would write (None for a dashboard table: a few dozen)."""
    record = KINDS.get(kind)
    if record is None:
        return None
    return int(session.scalar(record.count_statement(filters, tz)) or 0)


def _check(kind: str, filters: Filters, fmt: str) -> None:
    if kind not in KINDS and not (
        kind.startswith(TABLE_PREFIX) and kind[len(TABLE_PREFIX) :] in TABLES
    ):
        raise ExportRefused("不支持导出该类数据")
    if fmt not in FORMATS:
        raise ExportRefused("导出格式只能是 XLSX 或 CSV")
    if filters.end <= filters.start:
        raise ExportRefused("结束日期须晚于开始日期")


def _check_identifiers(staff: Staff, reason: str) -> None:
    if not may_see_identifiers(staff):
        raise ExportRefused("您没有导出完整身份信息的权限，请导出脱敏数据，或请管理员开通权限")
    if len(reason) < MIN_REASON:
        raise ExportRefused(f"导出完整身份信息须填写导出理由（至少{MIN_REASON}个字）")


def start_export(
    session: Session,
    staff: Staff | None,
    kind: str,
    filters: Filters,
    fmt: str,
    *,
    full_identifiers: bool,
    reason: str | None,
    max_rows: int,
    tz: ZoneInfo,
    group_by: str | None = None,
) -> ExportLog:
    """Check and count; raises ExportRefused (nothing written) or returns the queued
    export-log row, flushed. ``staff`` None: a scheduled export (never with identifiers)."""
    _check(kind, filters, fmt)
    reason = (reason or "").strip()
    if kind.startswith(TABLE_PREFIX):
        full_identifiers = False  # counts only: no one's identity in them
    if full_identifiers:
        if staff is None:
            raise ExportRefused("定时导出不能包含完整身份信息")
        _check_identifiers(staff, reason)
    rows = count_rows(session, kind, filters, tz)
    if rows is not None and rows > max_rows:
        raise ExportRefused(
            f"共 {rows:,} 行，超过单次导出上限 {max_rows:,} 行，请缩短时间范围或增加筛选条件"
        )
    params = filters.as_params() | ({"group_by": group_by} if group_by else {})
    export = ExportLog(
        staff_id=staff.id if staff else None,
        kind=kind,
        params=params,
        format=fmt,
        full_identifiers=full_identifiers,
        reason=reason or None,
        status=ExportStatus.QUEUED,
        row_count=rows,  # the count asked now: the progress bar's whole; the rows written at end
    )
    session.add(export)
    session.flush()
    export.rq_job_id = job_id(export.id)
    session.flush()
    return export


def job_id(export_id: int) -> str:
    return f"export-{export_id}"
