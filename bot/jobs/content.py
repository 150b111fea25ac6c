"""Education articles sent by themselves for the stage of a patient's device (P7.1): the day
after placement daily care, after removal what to watch …; at most one a day per patient,
never in their quiet hours, each article once (``article_deliveries``)."""

from __future__ import annotations

from bot.container import current
from bot.jobs.locking import only_one
from bot.jobs.queues import enqueue_sends
from bot.models import utcnow
from bot.services.education import pushes

LOCK = "vam:lock:stage-articles"


def send_stage_articles() -> str:
    """Scheduled every 15 minutes. One run at a time (a Redis lock); the patient row locks and
    the unique key make even two at once send nothing twice."""
    ctx = current()
    with only_one(LOCK, timeout=600) as mine:
        if not mine:
            return "another stage-article run is going"
        with ctx.uow() as uow:
            result = pushes.send_stage_articles(
                uow.session,
                utcnow(),
                ctx.settings.timezone,
                public_base_url=ctx.settings.public_base_url,
            )
            uow.commit()
        enqueue_sends(ctx.redis, result.outbox_ids)
        return f"sent {result.sent} articles, {result.held} patients in quiet hours"
