"""The scheduled check of open complications left 24 hours without a handling step (A7.3)."""

from __future__ import annotations

from bot.container import current
from bot.jobs.locking import only_one
from bot.jobs.queues import enqueue_send
from bot.models import utcnow
from bot.services import complication_alerts
from bot.services import dictionary as dictionary_service

LOCK = "vam:lock:complication-stale"


def alert_stale_complications() -> str:
    """Push each quiet open complication to its team once; the sends are queued after commit
    on the outbound queue (a few clinical alerts, not a bulk sweep)."""
    ctx = current()
    with only_one(LOCK, timeout=300) as mine:
        if not mine:
            return "another check is running"
        with ctx.uow() as uow:
            d = dictionary_service.current(uow.session)
            ids = complication_alerts.stale(
                uow.session,
                d,
                utcnow(),
                tz=ctx.settings.timezone,
                base_url=ctx.settings.public_base_url,
            )
            uow.commit()
        for outbox_id in ids:
            enqueue_send(ctx.redis, outbox_id)
        return f"queued {len(ids)}"
