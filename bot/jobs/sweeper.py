"""Nothing is lost: re-enqueue inbox and outbox rows whose job went missing.

A callback is committed before it is enqueued; if Redis was down, a worker crashed, or RQ
gave up, the row is still pending and this sweep (every 30 s, from the scheduler) hands it to
a worker again. Jobs are idempotent, so a row enqueued twice is still handled once.

A reminder sweep's sends wait on the ``bulk`` queue, possibly for long after a cold start:
while that queue has jobs waiting or running, its rows are left to them (re-enqueued, they
would jump ahead of patients' replies on ``outbound``); once it is idle, the reminder rows
still pending go back to it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import not_, or_, select, true

from bot.container import current
from bot.models import InboxMessage, OutboxMessage, Report, utcnow
from bot.models.enums import DeliveryStatus, InboxStatus, OcrStatus

from .queues import BULK, REPORTS, enqueue_report, enqueue_send, enqueue_sends, enqueue_turn

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the job enqueued with them
REPORT_GRACE = timedelta(minutes=3)  # longer than a report job may run (its timeout)
LIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
BATCH = 500


REMINDER_ROWS = OutboxMessage.dedupe_key.like("reminder:%")


def requeue_stalled() -> dict[str, int]:
    ctx = current()
    now = utcnow()
    bulk = Queue(BULK, connection=ctx.redis)
    bulk_busy = bulk.count > 0 or StartedJobRegistry(queue=bulk).count > 0
    with ctx.uow() as uow:
        inbox_ids = uow.session.scalars(
            select(InboxMessage.id)
            .where(
                InboxMessage.status.in_([InboxStatus.PENDING, InboxStatus.PROCESSING]),
                InboxMessage.received_at < now - GRACE,
                or_(InboxMessage.next_attempt_at.is_(None), InboxMessage.next_attempt_at <= now),
            )
            .order_by(InboxMessage.id)
            .limit(BATCH)
        ).all()
        outbox_rows = uow.session.execute(
            select(OutboxMessage.id, REMINDER_ROWS)
            .where(
                OutboxMessage.status == DeliveryStatus.PENDING,
                OutboxMessage.created_at < now - GRACE,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                not_(REMINDER_ROWS) if bulk_busy else true(),
            )
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        ).all()
    for inbox_id in inbox_ids:
        enqueue_turn(ctx.redis, inbox_id)
    bulk_ids = [outbox_id for outbox_id, reminder in outbox_rows if reminder]
    for outbox_id, reminder in outbox_rows:
        if not reminder:
            enqueue_send(ctx.redis, outbox_id)
    enqueue_sends(ctx.redis, bulk_ids)
    if inbox_ids or outbox_rows:
        log.info(
            "sweeper re-enqueued %s inbox and %s outbox rows (%s of them bulk)",
            len(inbox_ids),
            len(outbox_rows),
            len(bulk_ids),
        )
    reports = requeue_reports()
    return {
        "inbox": len(inbox_ids),
        "outbox": len(outbox_rows),
        "bulk": len(bulk_ids),
        "reports": reports,
    }


def requeue_reports() -> int:
    """Report photos still "识别中" whose job is gone (its worker died, Redis lost it) are read
    again; the job itself gives up after its attempts, telling the patient."""
    ctx = current()
    queue = Queue(REPORTS, connection=ctx.redis)
    StartedJobRegistry(queue=queue).cleanup()  # a dead worker's job: started → failed
    with ctx.uow() as uow:
        report_ids = uow.session.scalars(
            select(Report.id)
            .where(
                Report.ocr_status == OcrStatus.PENDING,
                Report.updated_at < utcnow() - REPORT_GRACE,
            )
            .order_by(Report.id)
            .limit(BATCH)
        ).all()
    again = [rid for rid in report_ids if not _live(ctx.redis, f"report-{rid}")]
    for report_id in again:
        enqueue_report(ctx.redis, report_id)
    if again:
        log.info("sweeper re-enqueued %s report photos", len(again))
    return len(again)


def _live(conn: object, job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=conn).get_status() in LIVE  # type: ignore[arg-type]
    except NoSuchJobError:
        return False
