"""The composition root: ``create_app(settings)`` wires the container, the web plumbing and
the blueprints; ``bootstrap`` (server/bootstrap.py) builds the container of every process.
Nothing here runs at import time.
"""

from __future__ import annotations

import logging

from flask import Flask

import admin
import h5
import web
import webhooks
from bot.config import Settings
from bot.container import Container

from . import cli, pages
from .bootstrap import bootstrap
from .health import health

__all__ = ["bootstrap", "create_app", "health"]


def create_app(settings: Settings | None = None, container: Container | None = None) -> Flask:
    """The Flask app over ``container`` (built by ``bootstrap(settings)`` when not given)."""
    c = container or bootstrap(settings)
    settings = c.settings
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
    )
    app.extensions["vam"] = c
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    web.init_app(app)
    app.register_blueprint(pages.bp)
    webhooks.init_app(app, c)
    admin.init_app(app)
    h5.init_app(app)
    cli.register(app)
    return app
