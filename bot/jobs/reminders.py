"""The scheduled reminder sweep (every few minutes) and overdue escalation."""

from __future__ import annotations

import logging

from bot.container import current
from bot.jobs.locking import only_one
from bot.jobs.queues import enqueue_sends
from bot.models import utcnow
from bot.services import dictionary as dictionary_service
from bot.services import reminders

log = logging.getLogger(__name__)
LOCK = "vam:lock:reminder-sweep"


def sweep_reminders() -> str:
    """One sweep at a time (a Redis lock); the database's unique keys make even two at once
    send nothing twice."""
    ctx = current()
    with only_one(LOCK, timeout=600) as mine:
        if not mine:
            return "another sweep is running"
        now = utcnow()
        with ctx.uow() as uow:
            d = dictionary_service.current(uow.session)
            result = reminders.sweep(
                uow.session,
                d,
                ctx.cipher,
                now,
                ctx.settings.timezone,
                public_base_url=ctx.settings.public_base_url,
                reminder_template=ctx.settings.wechat_reminder_template_id,
                reminder_api=ctx.settings.wechat_reminder_message,
            )
            escalations = reminders.escalate(uow.session, d, now, ctx.settings.timezone)
            uow.commit()
        enqueue_sends(ctx.redis, [*result.outbox_ids, *escalations])
        return (
            f"created {result.created}, in-app {result.delivered_inapp}, "
            f"queued {len(result.outbox_ids) + len(escalations)}"
        )
