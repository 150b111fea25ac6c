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
from rq.registry import StartedJobRegistry
from sqlalchemy import not_, or_, select, true

from bot.container import current
from bot.models import InboxMessage, OutboxMessage, utcnow
from bot.models.enums import DeliveryStatus, InboxStatus

from .queues import BULK, enqueue_send, enqueue_sends, enqueue_turn

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the job enqueued with them
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
    return {"inbox": len(inbox_ids), "outbox": len(outbox_rows), "bulk": len(bulk_ids)}
