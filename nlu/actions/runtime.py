"""The action server's collaborators, built once on first use from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from dotenv import load_dotenv
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings, load_settings
from bot.db import make_engine, make_session_factory
from bot.uow import UnitOfWork


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    session_factory: sessionmaker[Session]

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)


_installed: Runtime | None = None


def install(rt: Runtime | None) -> None:
    """Use these collaborators instead of ones built from the environment (tests)."""
    global _installed
    _installed = rt


def runtime() -> Runtime:
    return _installed or _from_environment()


@cache
def _from_environment() -> Runtime:
    load_dotenv()
    settings = load_settings()
    return Runtime(settings, make_session_factory(make_engine(settings.database_url)))
