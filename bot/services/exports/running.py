"""Writing an export (A6.2), the body of ``bot.jobs.exports.run_export``.

The rows are streamed from the database (a server-side cursor on PostgreSQL) straight into
the file, so neither the process nor the database holds them all; every ``chunk`` rows the
count written so far is committed on the export-log row in a short transaction of its own (the
status page reads it) and handed to ``on_progress`` (the job's meta). The file is written as
``<name>.part`` and renamed when complete, hashed, and the row marked done with the audit
entry in the same transaction.

Idempotent: a run first claims the export in one UPDATE (queued or failed, or running but
claimed longer ago than ``JOB_TIMEOUT`` — a worker that died or was killed); a done export, or
one another worker is writing, is left alone. A failure marks the export failed with the reason
in words and is raised again (RQ retries the job).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.care.rules import local_date
from bot.models import ExportLog, utcnow
from bot.models.enums import ActorType, ExportStatus
from bot.security.crypto import PiiCipher
from bot.services import audit, stats
from bot.services import dictionary as dictionary_service

from .records import KINDS, Shown, period_words
from .starting import TABLE_PREFIX, kind_label
from .writers import open_rows

log = logging.getLogger(__name__)

CHUNK = 5_000  # rows between two progress commits
FETCH = 2_000  # rows the cursor brings at a time
FOLDER = "exports"
# RQ's timeout of the export job (bot/jobs/exports.py): a running export claimed longer ago
# than this has no live worker writing it. A million rows take a minute or two; a slow disk or
# a busy database, much longer.
JOB_TIMEOUT = timedelta(hours=3)


@dataclass(frozen=True)
class Job:
    """What the writing needs, read from the export-log row."""

    id: int
    kind: str
    params: dict[str, Any]
    fmt: str
    full: bool
    path: Path


def file_path(media_root: Path, export: ExportLog) -> Path:
    """MEDIA_ROOT/exports/<id>-<kind>.<format> (the media clean-up keeps what the log names)."""
    kind = export.kind.replace(":", "-")
    return media_root / FOLDER / f"{export.id}-{kind}.{export.format}"


def stored_file(export: ExportLog, media_root: Path) -> Path | None:
    """The file the export's log names (a relative path is under MEDIA_ROOT); None: no file
    (not written yet, or deleted at the end of its keeping period)."""
    if not export.file_path:
        return None
    path = Path(export.file_path)
    return path if path.is_absolute() else media_root / path


def download_name(export: ExportLog) -> str:
    """What the administrator's browser saves it as: 维护记录_2026-03-01_2026-03-31.xlsx."""
    label = kind_label(export.kind).replace("统计表：", "")
    period = period_words(stats.Filters.from_params(export.params)).replace(" 至 ", "_")
    return f"{label}_{period}.{export.format}"


def run(
    session_factory: sessionmaker[Session],
    export_id: int,
    *,
    tz: ZoneInfo,
    cipher: PiiCipher,
    media_root: Path,
    chunk: int = CHUNK,
    on_progress: Callable[[int, int | None], None] | None = None,
    on_done: Callable[[ExportLog, datetime], None] | None = None,
) -> ExportStatus | None:
    """Write the export: DONE when written now, None when there was nothing to do (no such
    export, done already, or being written by another worker). ``on_done`` is called in the
    transaction that marks it done (the low-code push marked pending there)."""
    job = _begin(session_factory, export_id, media_root)
    if job is None:
        return None
    try:
        rows, total = _write(session_factory, job, tz, cipher, chunk, on_progress)
        digest = sha256(job.path)
    except Exception as exc:
        _fail(session_factory, export_id, exc)
        raise
    with session_factory() as session:
        export = session.get_one(ExportLog, export_id)
        now = utcnow()
        export.status, export.finished_at = ExportStatus.DONE, now
        export.row_count = export.rows_written = rows
        export.file_path, export.file_sha256, export.error = str(job.path), digest, None
        actor = audit.Actor(ActorType.STAFF, export.staff_id) if export.staff_id else audit.SYSTEM
        audit.record(
            session,
            actor,
            "export",
            "export",
            export.id,
            context="export",
            detail={
                "kind": export.kind,
                "filters": export.params,
                "format": export.format,
                "row_count": rows,
                "sha256": digest,
                "full_identifiers": export.full_identifiers,
                "reason": export.reason,
            },
        )
        if on_done is not None:
            on_done(export, now)
        session.commit()
    if on_progress is not None:
        on_progress(rows, total)
    log.info("export %s: %s rows written to %s", export_id, rows, job.path)
    return ExportStatus.DONE


def claimable(now: datetime) -> Any:
    """The export-log rows a run may claim: queued or failed, or running but claimed longer
    ago than the job timeout (or never stamped)."""
    return or_(
        ExportLog.status.in_([ExportStatus.QUEUED, ExportStatus.FAILED]),
        and_(
            ExportLog.status == ExportStatus.RUNNING,
            or_(ExportLog.started_at.is_(None), ExportLog.started_at < now - JOB_TIMEOUT),
        ),
    )


def requeueable(export: ExportLog, now: datetime) -> bool:
    """Whether 重新排队 applies: what a run would claim (the same rule as ``claimable``)."""
    if export.status in (ExportStatus.QUEUED, ExportStatus.FAILED):
        return True
    return export.status is ExportStatus.RUNNING and (
        export.started_at is None or export.started_at < now - JOB_TIMEOUT
    )


def _begin(session_factory: sessionmaker[Session], export_id: int, media_root: Path) -> Job | None:
    """Claim the export in one UPDATE, so two runs never write one file; None when it was
    not claimable (no such export, done, or running in another worker)."""
    now = utcnow()
    with session_factory() as session:
        claimed = session.execute(
            update(ExportLog)
            .where(ExportLog.id == export_id, claimable(now))
            .values(
                status=ExportStatus.RUNNING,
                started_at=now,
                rows_written=0,
                error=None,
                file_path=None,
                file_sha256=None,
                finished_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        export = session.get_one(ExportLog, export_id)
        job = Job(
            export.id,
            export.kind,
            dict(export.params),
            export.format or "xlsx",
            export.full_identifiers,
            file_path(media_root, export),
        )
        session.commit()
    return job


def _write(
    session_factory: sessionmaker[Session],
    job: Job,
    tz: ZoneInfo,
    cipher: PiiCipher,
    chunk: int,
    on_progress: Callable[[int, int | None], None] | None,
) -> tuple[int, int | None]:
    """(rows written, the count asked at the start)."""
    job.path.parent.mkdir(parents=True, exist_ok=True)
    part = job.path.with_name(job.path.name + ".part")
    filters = stats.Filters.from_params(job.params)
    with session_factory() as read, session_factory() as progress:
        total = progress.get_one(ExportLog, job.id).row_count
        dictionary = dictionary_service.current(read)
        title, headers, rows = _source(read, job, filters, tz, cipher, dictionary)
        out = open_rows(job.fmt, part, title, headers)
        written = 0
        try:
            for row in rows:
                out.write(row)
                written += 1
                if written % chunk == 0:
                    progress.execute(
                        update(ExportLog).where(ExportLog.id == job.id).values(rows_written=written)
                    )
                    progress.commit()
                    if on_progress is not None:
                        on_progress(written, total)
        finally:
            out.close()
    os.replace(part, job.path)
    return written, total


def _source(
    read: Session,
    job: Job,
    filters: stats.Filters,
    tz: ZoneInfo,
    cipher: PiiCipher,
    dictionary: Any,
) -> tuple[str, Sequence[str], Iterable[Sequence[Any]]]:
    """(sheet title, headers, rows) of the export's kind."""
    if job.kind.startswith(TABLE_PREFIX):
        code = job.kind[len(TABLE_PREFIX) :]
        dashboard = stats.compute(
            read,
            filters,
            tz=tz,
            today=local_date(utcnow(), tz),
            dictionary=dictionary,
            group_by=job.params.get("group_by"),
        )
        table = dashboard.tables.get(code)
        if table is None:
            raise LookupError(f"统计表“{code}”不存在")
        return table.title, table.columns, table.rows
    kind = KINDS[job.kind]
    shown = Shown(dictionary, tz, cipher, job.full)
    statement = kind.statement(filters, tz, job.full).execution_options(yield_per=FETCH)
    result = read.execute(statement)
    return kind.label, kind.headers(job.full), (kind.show(row, shown) for row in result)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def error_words(exc: BaseException) -> str:
    """The reason an administrator reads on the export page."""
    if isinstance(exc, OSError):
        return f"写入导出文件失败：{exc.strerror or exc}"
    if isinstance(exc, SQLAlchemyError):
        return f"读取数据库失败（{type(exc).__name__}），请稍后重试"
    if isinstance(exc, LookupError):
        return f"导出失败：{exc.args[0] if exc.args else exc}"
    return f"导出失败：{type(exc).__name__}: {exc}"[:500]


def _fail(session_factory: sessionmaker[Session], export_id: int, exc: BaseException) -> None:
    log.exception("export %s failed", export_id)
    with session_factory() as session:
        session.execute(
            update(ExportLog)
            .where(ExportLog.id == export_id)
            .values(status=ExportStatus.FAILED, error=error_words(exc), finished_at=utcnow())
        )
        session.commit()
