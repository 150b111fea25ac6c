"""Periodic jobs that keep the service observable."""

from __future__ import annotations

from bot.container import current
from bot.models import utcnow

HEARTBEAT_KEY = "vam:scheduler:heartbeat"


def heartbeat() -> str:
    """Record that the scheduler and a worker are alive (shown by /healthz)."""
    stamp = utcnow().isoformat()
    current().redis.set(HEARTBEAT_KEY, stamp, ex=600)
    return stamp
