"""The export log as the admin web lists it (A6.2, A7.6): newest first, with who asked, and
how far a running export has got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import ExportLog, Staff
from bot.models.enums import ExportStatus
from bot.services.lowcode import STATUS_LABELS as LOWCODE_LABELS
from bot.services.stats import Filters

from .records import KINDS, period_words
from .retention import expired
from .starting import kind_label

STATUS_LABELS = {
    ExportStatus.QUEUED: "排队中",
    ExportStatus.RUNNING: "导出中",
    ExportStatus.DONE: "已完成",
    ExportStatus.FAILED: "失败",
}
FILTER_LABELS = {
    "device_type": "导管类型",
    "department_id": "科室",
    "institution_id": "机构",
    "inserter_id": "置管者",
    "group_by": "分组",
}


@dataclass(frozen=True)
class Entry:
    export: ExportLog
    staff_name: str | None  # None: a scheduled export

    @property
    def kind(self) -> str:
        return kind_label(self.export.kind)

    @property
    def status(self) -> str:
        return STATUS_LABELS[self.export.status]

    @property
    def period(self) -> str:
        return period_of(self.export)

    @property
    def filters(self) -> str:
        return filter_words(self.export.params)

    @property
    def expired(self) -> bool:
        """Its file with identifiers in full deleted at the end of its keeping period."""
        return expired(self.export)

    @property
    def left_out(self) -> str:
        """备注、培养结果: the free-text columns a masked record export has not ("" none)."""
        kind = KINDS.get(self.export.kind)
        return "、".join(kind.left_out(self.export.full_identifiers)) if kind else ""


def period_of(export: ExportLog) -> str:
    try:
        return period_words(Filters.from_params(export.params))
    except (KeyError, ValueError, TypeError):  # an export of another shape (a trace PDF)
        return ""


def filter_words(params: dict[str, Any]) -> str:
    """设备类型=PICC；科室=3 (the codes and ids as asked)."""
    parts = [f"{label}={params[k]}" for k, label in FILTER_LABELS.items() if params.get(k)]
    return "；".join(parts) or "无"


def page(session: Session, number: int, size: int = 50) -> tuple[list[Entry], int]:
    """One page of the log, newest first, and how many exports there are."""
    total = int(session.scalar(select(func.count()).select_from(ExportLog)) or 0)
    rows = session.execute(
        select(ExportLog, Staff.name)
        .outerjoin(Staff, Staff.id == ExportLog.staff_id)
        .order_by(ExportLog.id.desc())
        .offset(max(number - 1, 0) * size)
        .limit(size)
    ).all()
    return [Entry(e, name) for e, name in rows], total


def progress(export: ExportLog, meta_rows: int | None = None) -> dict[str, Any]:
    """What the status page polls: rows written (the job's meta when it is ahead of the row,
    committed every few thousand rows) out of those counted at the start."""
    written = max(export.rows_written or 0, meta_rows or 0)
    total = export.row_count
    done = export.status is ExportStatus.DONE
    percent = 100 if done else (min(99, written * 100 // total) if total else 0)
    return {
        "id": export.id,
        "status": export.status.value,
        "status_label": STATUS_LABELS[export.status],
        "rows_written": export.row_count if done else written,
        "row_count": total,
        "percent": percent,
        "error": export.error,
        "sha256": export.file_sha256,
        "lowcode_status": export.lowcode_status,
        "lowcode_label": LOWCODE_LABELS.get(export.lowcode_status or "", "未推送"),
        "lowcode_record_id": export.lowcode_record_id,
        "lowcode_error": export.lowcode_error,
    }
