"""The scheduled follow-up sweep (A7.4): check-ins on each follow-up date, the one reminder,
the nurse's list."""

from __future__ import annotations

from bot.container import current
from bot.jobs.locking import only_one
from bot.jobs.queues import enqueue_sends
from bot.models import utcnow
from bot.services import dictionary as dictionary_service
from bot.services import follow_ups

LOCK = "vam:lock:follow-up-sweep"


def sweep_follow_ups() -> str:
    """One sweep at a time (a Redis lock); the unique keys make even two at once write and send
    nothing twice."""
    ctx = current()
    with only_one(LOCK, timeout=600) as mine:
        if not mine:
            return "another follow-up sweep is running"
        with ctx.uow() as uow:
            d = dictionary_service.current(uow.session)
            result = follow_ups.sweep(
                uow.session,
                d,
                utcnow(),
                ctx.settings.timezone,
                public_base_url=ctx.settings.public_base_url,
                reminder_api=ctx.settings.wechat_reminder_message,
                reminder_template=ctx.settings.wechat_reminder_template_id,
            )
            uow.commit()
        enqueue_sends(ctx.redis, result.outbox_ids)
        return (
            f"created {result.created} ({result.to_nurse_list} to the list), sent {result.sent}, "
            f"reminded {result.reminded}, no answer {result.no_answer}"
        )
