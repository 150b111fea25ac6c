"""The composition root: the one place that wires settings, database, Redis and blueprints.

``create_app(settings)`` builds the Flask app; nothing here runs at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import redis
from flask import Flask, current_app
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.wechat import Senders
from bot.config import Settings, load_settings
from bot.db import make_engine, make_session_factory
from bot.infra import redis as redis_infra
from bot.security.crypto import PiiCipher
from bot.uow import UnitOfWork


@dataclass
class Container:
    """Long-lived collaborators of one process, built lazily on first use."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis_infra.connect(self.settings)

    @cached_property
    def cipher(self) -> PiiCipher:
        return PiiCipher(self.settings.data_key)

    @cached_property
    def senders(self) -> Senders:
        """WeChat and WeChat Work clients for messages the web process starts itself."""
        from .adapters import build_adapters

        senders: Senders = build_adapters(self.settings, self.redis)["senders"]
        return senders

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)


def container() -> Container:
    return current_app.extensions["vam"]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
    )
    app.extensions["vam"] = Container(settings)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    import admin
    import h5
    import webhooks

    from . import cli, pages

    app.register_blueprint(pages.bp)
    webhooks.init_app(app)
    admin.init_app(app)
    h5.init_app(app)
    cli.register(app)
    return app


def health(c: Container) -> dict[str, str]:
    """Check the database and Redis; used by /healthz and docker-compose."""
    status = {}
    try:
        with c.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        status["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        status["database"] = f"error: {type(exc).__name__}"
    try:
        c.redis.ping()
        status["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        status["redis"] = f"error: {type(exc).__name__}"
    return status
