"""Pushing exports to the hospital's low-code platform (A7.6): the push of one export, the
sweep that tries failed pushes again when their time comes, and the monthly indicator set.
Nothing happens when the platform is not configured (LOWCODE_BASE_URL empty)."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import redis
from rq import Queue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.config import Settings
from bot.container import Container, current
from bot.jobs.locking import only_one
from bot.models import ExportLog, utcnow
from bot.models.enums import ExportStatus
from bot.services import dictionary as dictionary_service
from bot.services import lowcode, stats
from bot.services.exports import sha256
from bot.services.stats.periods import previous_month

QUEUE = "default"
PUSH_LOCK = "vam:lock:lowcode-push:{export_id}"
PUSH_LOCK_SECONDS = 600  # renewed between batches: a dead worker holds an export 10 min at most
MONTHLY_KIND = "indicators_monthly"


def configured(settings: Settings) -> bool:
    return bool(settings.lowcode_base_url)


def enqueue_push(conn: redis.Redis, export_id: int, settings: Settings | None = None) -> bool:
    """Queue the push of a finished export (called by the export job, and by 重试 in the admin
    web with its settings). False, and nothing queued, when the platform is not configured."""
    if not configured(settings if settings is not None else current().settings):
        return False
    Queue(QUEUE, connection=conn).enqueue(
        "bot.jobs.lowcode.push_export",
        export_id,
        job_id=f"lowcode-push-{export_id}",
        job_timeout=3600,
        result_ttl=3600,
        failure_ttl=7 * 86400,
    )
    return True


def push_export(export_id: int) -> str:
    """The RQ job: push one export, going on from the first batch not done. Two pushes of one
    export never run at once (a Redis lock, renewed between batches); the second one returns."""
    ctx = current()
    client = ctx.lowcode
    if client is None:
        return "low-code platform not configured"
    lock = ctx.redis.lock(
        PUSH_LOCK.format(export_id=export_id), timeout=PUSH_LOCK_SECONDS, blocking_timeout=0
    )
    if not lock.acquire():
        return f"export {export_id} is being pushed by another job"
    try:
        with ctx.uow() as uow:
            export = uow.session.get(ExportLog, export_id)
            if export is not None and export.lowcode_status is None:
                lowcode.mark_pending(export, utcnow())  # first push: from the export job
                uow.commit()
            result = lowcode.push(
                uow.session,
                client,
                export_id,
                media_root=ctx.settings.media_root,
                tz=ctx.settings.timezone,
                now=utcnow,
                forms=ctx.settings.lowcode_forms,
                keep_alive=lock.reacquire,
            )
    finally:
        with contextlib.suppress(redis.exceptions.LockError):  # expired: nothing to release
            lock.release()
    detail = f": {result.error}" if result.error else ""
    return f"export {export_id} {result.status}, {result.sent} batches sent{detail}"


def retry_due_pushes() -> str:
    """Scheduled every 5 minutes: queue again the pushes that failed with the platform
    unavailable and whose next attempt is due, and those whose job went missing."""
    ctx = current()
    if not configured(ctx.settings):
        return "low-code platform not configured"
    with only_one("vam:lock:lowcode-retry", timeout=300) as mine:
        if not mine:
            return "another retry sweep is going"
        with ctx.uow() as uow:
            due = lowcode.due_pushes(uow.session, utcnow())
        for export_id in due:
            enqueue_push(ctx.redis, export_id, ctx.settings)
        return f"{len(due)} pushes queued again"


def push_monthly_indicators() -> str:
    """Scheduled hourly: once a month has ended, its indicator set (all devices, departments,
    institutions) is kept as an export of kind ``indicators_monthly`` (no staff, a JSON file)
    and pushed — once per month, keyed by the export log's ``rq_job_id``."""
    ctx = current()
    if not configured(ctx.settings):
        return "low-code platform not configured"
    with only_one("vam:lock:lowcode-monthly", timeout=600) as mine:
        if not mine:
            return "another monthly run is going"
        export_id = record_monthly_indicators(ctx, datetime.now(ctx.settings.timezone).date())
    if export_id is None:
        return "this month's indicator set was already recorded"
    enqueue_push(ctx.redis, export_id, ctx.settings)
    return f"monthly indicators recorded as export {export_id}"


def record_monthly_indicators(ctx: Container, today: date) -> int | None:
    """Compute last month's indicators, write them to MEDIA_ROOT/exports/ as JSON and log the
    export; its id, or None when that month is already logged."""
    start, end = previous_month(today)
    job_id = f"lowcode-monthly-{start:%Y-%m}"
    tz = ctx.settings.timezone
    with ctx.uow() as uow:
        session = uow.session
        if session.scalar(select(ExportLog.id).where(ExportLog.rq_job_id == job_id)):
            return None
        filters = stats.Filters(start, end)
        board = stats.compute(
            session, filters, tz=tz, today=today, dictionary=dictionary_service.current(session)
        )
        rows = [
            {
                "period": f"{start:%Y-%m}",
                "code": i.code,
                "label": i.label,
                "numerator": i.numerator,
                "denominator": i.denominator,
                "value": i.value,
                "unit": i.unit,
                "display": i.display,
                "definition": i.definition,
            }
            for i in board.indicators
        ]
        path = _write_json(
            ctx.settings.media_root, f"indicators-{start:%Y-%m}.json", filters.as_params(), rows
        )
        now = utcnow()
        export = ExportLog(
            staff_id=None,
            kind=MONTHLY_KIND,
            params=filters.as_params(),
            format="json",
            status=ExportStatus.DONE,
            rq_job_id=job_id,
            row_count=len(rows),
            rows_written=len(rows),
            file_path=str(path.relative_to(ctx.settings.media_root)),
            file_sha256=sha256(path),
            finished_at=now,
        )
        lowcode.mark_pending(export, now)
        session.add(export)
        try:
            uow.commit()
        except IntegrityError:
            return None  # recorded at the same moment by another scheduler
        return export.id


def _write_json(
    media_root: Path, name: str, params: dict[str, Any], rows: list[dict[str, Any]]
) -> Path:
    folder = media_root / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    payload = {"kind": MONTHLY_KIND, "filters": params, "rows": rows}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
