"""Periodic jobs that keep the service observable and its storage tidy."""

from __future__ import annotations

from bot.container import current
from bot.models import utcnow
from bot.services import media_cleanup

HEARTBEAT_KEY = "vam:scheduler:heartbeat"


def heartbeat() -> str:
    """Record that the scheduler and a worker are alive (shown by /healthz)."""
    stamp = utcnow().isoformat()
    current().redis.set(HEARTBEAT_KEY, stamp, ex=600)
    return stamp


def clean_media() -> str:
    """Remove media files no record refers to, after the grace period (daily)."""
    c = current()
    with c.uow() as uow:
        removed = media_cleanup.sweep(uow.session, c.qr, c.settings.media_root, utcnow())
    return f"removed {len(removed)} files"
