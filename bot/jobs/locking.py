"""One run at a time of a scheduled job, across workers: a Redis lock taken without waiting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis

from bot.container import current


@contextlib.contextmanager
def only_one(name: str, *, timeout: int) -> Iterator[bool]:
    """True inside when this run holds the lock ``name`` (released at the end; it expires after
    ``timeout`` seconds should the worker die); False when another run holds it."""
    lock = current().redis.lock(name, timeout=timeout, blocking_timeout=0)
    if not lock.acquire():
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
