"""Pushing exports to the hospital's low-code platform (A7.6, docs/low-code.md).

An export goes as batches: seq 0 is the export's own record in the ``exports`` form (who, when,
what, filters, format, rows, file hash, identifiers in full and why), seq 1… are its rows, read
back from the export file, ≤ 100 a batch, into the form of its kind — except for an export with
identifiers in full, of which only the record goes (``rows_withheld`` says why). Each batch is one
transaction of the platform (``LowcodeBatch.transaction_id``, fixed when the batch is first
sent): a batch sent again after a timeout is kept once. A push goes on from the first batch not
done; a failure stops it there. The platform unavailable → tried again by itself later
(``lowcode_next_attempt_at``, backing off); a rejection → waits for an administrator's 重试.

The caller holds the lock that keeps two pushes of one export apart (bot/jobs/lowcode.py).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.adapters.lowcode import MAX_ROWS, LowcodeError, LowcodeUnavailable
from bot.models import ExportLog, LowcodeBatch, Staff
from bot.models.enums import ExportStatus
from bot.services import audit
from bot.services.exports import sha256, stored_file

log = logging.getLogger(__name__)

EXPORTS_FORM = "exports"
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
STATUS_LABELS = {PENDING: "等待推送", RUNNING: "推送中", DONE: "已推送", FAILED: "失败"}
FIRST_RETRY = timedelta(minutes=5)
LAST_RETRY = timedelta(hours=6)
AUTO_ATTEMPTS = 10  # after this many failures in a row an unavailable platform waits for 重试
# a push running (its stamp renewed between batches) this long ago went missing: picked up again
STALE = timedelta(minutes=30)
# a push marked pending whose job has not started by then was never queued, or was lost
PENDING_STALE = timedelta(minutes=10)
ROWS_WITHHELD = "含完整身份信息，行数据未推送至平台"


class Platform(Protocol):
    def create_records(
        self, form: str, rows: list[dict[str, Any]], transaction_id: str
    ) -> list[str]: ...


class ExportFileError(Exception):
    """The export's file is missing, unreadable or not the file the log's hash names."""


@dataclass(frozen=True)
class PushResult:
    export_id: int
    status: str  # DONE / FAILED, or the unchanged status when there was nothing to do
    sent: int  # batches sent by this run
    skipped: int  # batches already done before it
    error: str | None = None


def rows_withheld(export: ExportLog) -> bool:
    """An export with identifiers in full: its rows never leave this system."""
    return bool(export.full_identifiers)


def total_batches(export: ExportLog) -> int:
    """The export's record plus its rows' batches (none when its rows are withheld)."""
    if rows_withheld(export):
        return 1
    return 1 + math.ceil((export.row_count or 0) / MAX_ROWS)


def transaction_id(export: ExportLog, seq: int) -> str:
    """Deterministic per export, batch and file: the same batch sent again is the same
    transaction; an export whose file was written anew (another hash) is a new one."""
    return f"vam-export-{export.id}-{seq}-{(export.file_sha256 or 'nofile')[:12]}"


def next_attempt_delay(attempts: int) -> timedelta:
    """5 min after the first failure, doubling, at most 6 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def mark_pending(export: ExportLog, now: datetime) -> None:
    """To be pushed (marked where the export is marked done, and by an administrator's 重试):
    the attempt counter starts again, and the sweep queues it should its job not have started
    ``PENDING_STALE`` later (never queued — Redis was down —, or lost)."""
    export.lowcode_status = PENDING
    export.lowcode_attempts = 0
    export.lowcode_error = None
    export.lowcode_next_attempt_at = now + PENDING_STALE


def due_pushes(session: Session, now: datetime) -> list[int]:
    """Exports whose push is due again: failed with the platform unavailable and their next
    attempt reached, or pending / running with their job gone missing."""
    rows = session.scalars(
        select(ExportLog.id)
        .where(
            ExportLog.lowcode_status.in_([FAILED, PENDING, RUNNING]),
            ExportLog.lowcode_next_attempt_at.is_not(None),
            ExportLog.lowcode_next_attempt_at <= now,
        )
        .order_by(ExportLog.lowcode_next_attempt_at)
    )
    return list(rows)


def pushes(session: Session, limit: int = 200) -> list[ExportLog]:
    """For the admin page: pushes that are not done first (failed, then waiting), newest
    first within each."""
    order = {FAILED: 0, RUNNING: 1, PENDING: 2, DONE: 3}
    found = session.scalars(
        select(ExportLog)
        .where(ExportLog.lowcode_status.is_not(None))
        .order_by(ExportLog.id.desc())
        .limit(limit)
    ).all()
    return sorted(found, key=lambda e: order.get(e.lowcode_status or "", 4))


def batches_done(session: Session, export_ids: Iterable[int]) -> dict[int, int]:
    ids = list(export_ids)
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    if ids:
        for export_id in session.scalars(
            select(LowcodeBatch.export_id).where(
                LowcodeBatch.export_id.in_(ids), LowcodeBatch.status == DONE
            )
        ):
            counts[export_id] += 1
    return counts


def push(
    session: Session,
    platform: Platform,
    export_id: int,
    *,
    media_root: Path,
    tz: ZoneInfo,
    now: Callable[[], datetime],
    forms: dict[str, str] | None = None,
    keep_alive: Callable[[], None] | None = None,
    actor: audit.Actor = audit.SYSTEM,
) -> PushResult:
    """Send what the platform does not have yet of one finished export, committing after each
    batch, so that a run stopped anywhere goes on from there. ``forms`` maps a form name
    (``exports``, an export kind) to the platform's own; ``keep_alive`` is called between
    batches (the caller's lock); the push's stale stamp is renewed with every batch committed.
    An unexpected error marks the push failed like the platform unavailable (logged with its
    traceback)."""
    export = session.get(ExportLog, export_id)
    if export is None or export.status is not ExportStatus.DONE:
        return PushResult(export_id, "missing", 0, 0, "导出不存在或尚未完成")
    if export.lowcode_status == DONE:
        return PushResult(export_id, DONE, 0, total_batches(export))
    forms = forms or {}
    kept = {b.seq: b for b in session.scalars(select(LowcodeBatch).filter_by(export_id=export_id))}
    skipped = sum(1 for b in kept.values() if b.status == DONE)
    export.lowcode_status = RUNNING
    export.lowcode_next_attempt_at = now() + STALE
    session.commit()
    sent = 0
    try:
        if not rows_withheld(export):  # rows are read from the file: check it first
            check_file(export, media_root)
        if not _done(kept.get(0)):
            ids = _send(
                session,
                platform,
                export,
                0,
                [export_record(session, export, tz)],
                forms.get(EXPORTS_FORM, EXPORTS_FORM),
                kept,
                now,
            )
            export.lowcode_record_id = ids[0]
            export.lowcode_next_attempt_at = now() + STALE
            session.commit()
            sent += 1
        rows_form = form_of(export.kind, forms)
        rows: Iterator[dict[str, Any]] = (
            iter([]) if rows_withheld(export) else read_rows(export, media_root)
        )
        for seq, chunk in enumerate(_chunks(rows), start=1):
            if _done(kept.get(seq)):
                continue
            if keep_alive is not None:
                keep_alive()
            _send(session, platform, export, seq, chunk, rows_form, kept, now)
            export.lowcode_next_attempt_at = now() + STALE  # alive: not to be queued again
            session.commit()
            sent += 1
    except Exception as exc:
        if isinstance(exc, LowcodeError):
            message = exc.message
        elif isinstance(exc, ExportFileError):
            message = str(exc)
        else:
            log.exception("low-code push of export %s failed unexpectedly", export_id)
            session.rollback()  # the batch half done, or a broken transaction
            message = f"推送时发生意外错误（{type(exc).__name__}：{exc}）"[:500]
        export.lowcode_status = FAILED
        export.lowcode_error = message
        export.lowcode_attempts += 1
        retry = (
            not isinstance(exc, LowcodeError | ExportFileError)
            or isinstance(exc, LowcodeUnavailable)
        ) and export.lowcode_attempts < AUTO_ATTEMPTS
        export.lowcode_next_attempt_at = (
            now() + next_attempt_delay(export.lowcode_attempts) if retry else None
        )
        _audit(session, actor, export, FAILED, sent, message)
        session.commit()
        return PushResult(export_id, FAILED, sent, skipped, message)
    export.lowcode_status = DONE
    export.lowcode_error = None
    export.lowcode_attempts = 0
    export.lowcode_next_attempt_at = None
    export.lowcode_pushed_at = now()
    _audit(session, actor, export, DONE, sent, None)
    session.commit()
    return PushResult(export_id, DONE, sent, skipped)


def _done(batch: LowcodeBatch | None) -> bool:
    return batch is not None and batch.status == DONE


def _send(
    session: Session,
    platform: Platform,
    export: ExportLog,
    seq: int,
    rows: list[dict[str, Any]],
    form: str,
    kept: dict[int, LowcodeBatch],
    now: Callable[[], datetime],
) -> list[str]:
    batch = kept.get(seq)
    if batch is None:
        batch = LowcodeBatch(
            export_id=export.id,
            seq=seq,
            transaction_id=transaction_id(export, seq),
            row_count=len(rows),
            attempts=0,
            record_ids=[],
        )
        session.add(batch)
        kept[seq] = batch
    batch.attempts += 1
    batch.sent_at = now()
    try:
        ids = platform.create_records(form, rows, batch.transaction_id)
    except LowcodeError as exc:
        batch.status, batch.error = FAILED, exc.message
        raise
    batch.status, batch.error, batch.record_ids = DONE, None, ids
    batch.row_count = len(rows)
    return ids


def _audit(
    session: Session,
    actor: audit.Actor,
    export: ExportLog,
    status: str,
    sent: int,
    error: str | None,
) -> None:
    audit.record(
        session,
        actor,
        "export",
        "export_log",
        export.id,
        context="lowcode",
        detail={
            "kind": export.kind,
            "status": status,
            "batches_sent": sent,
            "batches_total": total_batches(export),
            "record_id": export.lowcode_record_id,
            "error": error,
        },
    )


# ---- what is sent ---------------------------------------------------------------------------


def export_record(session: Session, export: ExportLog, tz: ZoneInfo) -> dict[str, Any]:
    """The export's own record (seq 0) for the ``exports`` form."""
    staff = session.get(Staff, export.staff_id) if export.staff_id else None
    return {
        "export_id": export.id,
        "kind": export.kind,
        "format": export.format,
        "staff_no": staff.staff_no if staff else None,
        "staff_name": staff.name if staff else "系统（定时任务）",
        "requested_at": _local(export.created_at, tz),
        "finished_at": _local(export.finished_at, tz),
        "filters": json.dumps(export.params or {}, ensure_ascii=False, sort_keys=True),
        "row_count": export.row_count or 0,
        "file_sha256": export.file_sha256,
        "full_identifiers": bool(export.full_identifiers),
        "reason": export.reason,
        "rows_withheld": ROWS_WITHHELD if rows_withheld(export) else None,
    }


def _local(when: datetime | None, tz: ZoneInfo) -> str | None:
    return when.astimezone(tz).isoformat(timespec="seconds") if when else None


def export_file(export: ExportLog, media_root: Path) -> Path:
    path = stored_file(export, media_root)
    if path is None:
        raise ExportFileError(f"导出 {export.id} 没有文件")
    return path


def check_file(export: ExportLog, media_root: Path) -> Path:
    """The export's file, there and with the hash its log names; ExportFileError otherwise."""
    path = export_file(export, media_root)
    if not path.is_file():
        raise ExportFileError(f"导出文件不存在：{path.name}")
    if export.file_sha256 and sha256(path) != export.file_sha256:
        raise ExportFileError(f"导出文件 {path.name} 与登记的哈希不一致，文件已被改动")
    return path


def read_rows(export: ExportLog, media_root: Path) -> Iterator[dict[str, Any]]:
    """The export's rows as objects keyed by the header row, streamed from its file (CSV,
    XLSX — every sheet, each with its header —, or JSON ``{"rows": [...]}``); ``push`` has
    checked its hash."""
    path = export_file(export, media_root)
    if not path.is_file():
        raise ExportFileError(f"导出文件不存在：{path.name}")
    fmt = (export.format or path.suffix.lstrip(".")).lower()
    if fmt == "csv":
        yield from _keyed(_csv_rows(path))
    elif fmt == "xlsx":
        yield from _xlsx_rows(path)
    elif fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        yield from (dict(row) for row in data["rows"])
    else:
        raise ExportFileError(f"不支持推送 {fmt} 格式的导出")


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    # utf-8-sig: a CSV for Excel starts with a byte-order mark
    with path.open(newline="", encoding="utf-8-sig") as f:
        yield from csv.reader(f)


def _xlsx_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Every sheet in order (a long export goes on in another sheet), each with its header."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            yield from _keyed(list(row) for row in sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _keyed(rows: Iterator[list[Any]]) -> Iterator[dict[str, Any]]:
    header = next(rows, None)
    if header is None:
        return
    names = [str(h) if h not in (None, "") else f"列{i + 1}" for i, h in enumerate(header)]
    for row in rows:
        if not any(v not in (None, "") for v in row):
            continue  # a blank line
        yield {name: _json_value(value) for name, value in zip(names, row, strict=False)}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == MAX_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def retryable(export: ExportLog) -> bool:
    """Whether an administrator's 重试 applies: a failed push, or one stuck waiting."""
    return export.lowcode_status in (FAILED, PENDING, RUNNING) and export.status is (
        ExportStatus.DONE
    )


def form_of(kind: str, forms: dict[str, str]) -> str:
    """The platform form an export kind's rows go to: mapped by ``LOWCODE_FORMS``, else the
    kind itself, a dashboard table's ``table:<code>`` as ``table_<code>`` (form names are
    letters, digits, ``_ . -``)."""
    return forms.get(kind) or kind.replace(":", "_")
