"""Nothing is lost: re-enqueue inbox and outbox rows whose job went missing.

A callback is committed before it is enqueued; if Redis was down, a worker crashed, or RQ
gave up, the row is still pending and this sweep (every 30 s, from the scheduler) hands it to
a worker again. Jobs are idempotent, so a row enqueued twice is still handled once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from bot.models import InboxMessage, OutboxMessage, utcnow
from bot.models.enums import DeliveryStatus, InboxStatus

from .context import current
from .queues import enqueue_send, enqueue_turn

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the job enqueued with them
BATCH = 500


def requeue_stalled() -> dict[str, int]:
    ctx = current()
    now = utcnow()
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
        outbox_ids = uow.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == DeliveryStatus.PENDING,
                OutboxMessage.created_at < now - GRACE,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        ).all()
    for inbox_id in inbox_ids:
        enqueue_turn(ctx.redis, inbox_id)
    for outbox_id in outbox_ids:
        enqueue_send(ctx.redis, outbox_id)
    if inbox_ids or outbox_ids:
        log.info("sweeper re-enqueued %s inbox and %s outbox rows", len(inbox_ids), len(outbox_ids))
    return {"inbox": len(inbox_ids), "outbox": len(outbox_ids)}
