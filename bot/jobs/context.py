"""What a job needs from its process: set once by the worker entry point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.security.crypto import PiiCipher
from bot.uow import UnitOfWork

# A worker takes jobs from the first queue that has one: a patient's message and its reply
# before the bulk sends of a reminder sweep, which can take a while after a cold start.
QUEUES = ("inbound", "outbound", "bulk", "default", "reports")


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    redis: redis.Redis
    cipher: PiiCipher
    adapters: dict[str, Any]

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)


_context: JobContext | None = None


def install(ctx: JobContext) -> None:
    global _context
    _context = ctx


def current() -> JobContext:
    if _context is None:
        raise RuntimeError(
            "job context not installed: start jobs through `python -m server.worker`"
        )
    return _context
