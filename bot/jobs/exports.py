"""Exports on the ``default`` queue (A6.2): one job per export, ``export-<id>``, the id the
export-log row is keyed by. The job reports its progress in ``job.meta["progress"]`` (rows
written, rows counted) as well as on the row; when the file is written it is handed to the
low-code platform's push (bot/jobs/lowcode.py) when the platform is configured — marked pending
in the same transaction that marks the export done, so that a push whose job could not be
queued is picked up by the retry sweep. ``expire_identified_files`` (hourly, server/scheduler.py)
deletes the files with identifiers in full older than EXPORT_IDENTIFIED_KEEP_DAYS."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from rq import Queue, Retry, get_current_job

from bot.container import current
from bot.jobs.lowcode import configured, enqueue_push
from bot.models import utcnow
from bot.models.enums import ExportStatus
from bot.services import exports, lowcode

log = logging.getLogger(__name__)

QUEUE = "default"
JOB_TIMEOUT = int(exports.JOB_TIMEOUT.total_seconds())  # a run older than this may be taken over
RETRY = Retry(max=2, interval=[30, 300])


def enqueue_export(conn: redis.Redis, export_id: int) -> None:
    Queue(QUEUE, connection=conn).enqueue(
        "bot.jobs.exports.run_export",
        export_id,
        job_id=exports.job_id(export_id),
        retry=RETRY,
        job_timeout=JOB_TIMEOUT,
        result_ttl=7 * 86400,
        failure_ttl=7 * 86400,
    )


def run_export(export_id: int) -> str:
    ctx = current()
    job = get_current_job()

    def progress(rows: int, total: int | None) -> None:
        if job is not None:
            job.meta["progress"] = {"rows": rows, "total": total}
            job.save_meta()

    status = exports.run(
        ctx.session_factory,
        export_id,
        tz=ctx.settings.timezone,
        cipher=ctx.cipher,
        media_root=ctx.settings.media_root,
        on_progress=progress,
        on_done=lowcode.mark_pending if configured(ctx.settings) else None,
    )
    if status is not ExportStatus.DONE:
        return "nothing to do"
    _push_to_lowcode(ctx.redis, export_id)
    return "done"


def _push_to_lowcode(conn: redis.Redis, export_id: int) -> None:
    """Queue the export's push; the export is done whatever happens here (its push is marked
    pending already: the sweep queues it should this fail)."""
    try:
        enqueue_push(conn, export_id)
    except Exception:
        log.exception("export %s: the low-code push could not be queued", export_id)


def expire_identified_files() -> str:
    """Delete the files with identifiers in full past their keeping period (the log rows stay,
    marked as deleted, each deletion audited)."""
    c = current()
    keep = timedelta(days=c.settings.export_identified_keep_days)
    with c.uow() as uow:
        expired = exports.expire_identified(uow.session, c.settings.media_root, utcnow(), keep)
        uow.commit()
    return f"deleted {len(expired)} files"
