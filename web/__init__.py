"""The web layer's plumbing, shared by ``webhooks/``, ``h5/`` and ``admin/``.

One place owns what every page needs: the process's container (``container()``), the
request's unit of work (``uow()``, ``db()``), sign-in sessions (Flask-Login), the rate
limiter (Flask-Limiter on Redis) and the CSRF check of hand-written forms. The blueprints
import it at the top; it imports only ``bot``, so there is no cycle with ``server``, which
builds the app.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import ValidationError

from bot.container import Container
from bot.infra import redis as redis_infra
from bot.models import Staff
from bot.uow import UnitOfWork

SESSION_HOURS = 8  # a shift; then sign in again
limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=True)


def container(app: Flask | None = None) -> Container:
    """The container ``server.create_app`` built for this app."""
    return cast(Container, (app or current_app).extensions["vam"])


def uow() -> UnitOfWork:
    """The request's unit of work: opened on first use, rolled back and closed when the
    request ends; what a view writes is kept only if it calls ``uow().commit()``."""
    if "uow" not in g:
        g.uow = UnitOfWork(container().request_sessions).__enter__()
    return cast(UnitOfWork, g.uow)


def db() -> Session:
    """The session of the request's unit of work."""
    return uow().session


def require_csrf() -> None:
    """A hand-written form must carry the session's CSRF token; 400 otherwise."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)


def _limiter_storage(url: str) -> str:
    return url.replace("unix://", "redis+unix://", 1) if url.startswith("unix://") else url


def init_app(app: Flask) -> None:
    """Sign-in sessions that expire after a shift, the limiter and the request's unit of work."""
    settings = container(app).settings
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=SESSION_HOURS)
    # The cookie is written only when the session changes: refreshed on every response, a
    # stylesheet requested with the cookie of the page before would overwrite the form
    # page's new CSRF secret, and the form would fail on submit.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limiter_storage(redis_infra.url_for(settings)))
    limiter.init_app(app)

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = "请先登录"
    login.session_protection = "strong"

    @login.user_loader
    def load(staff_id: str) -> Staff | None:
        staff = db().get(Staff, int(staff_id))
        return staff if staff is not None and staff.active else None

    @app.teardown_appcontext
    def end_unit_of_work(exc: BaseException | None) -> None:
        work = g.pop("uow", None)
        if work is not None:
            work.__exit__(type(exc) if exc else None, exc, None)
        container(app).request_sessions.remove()

    @app.before_request
    def password_must_be_changed() -> Response | None:
        """An administrator-set password is changed before anything else."""
        if (
            current_user.is_authenticated
            and current_user.password_changed_at is None
            and request.endpoint not in ("auth.password", "auth.logout", "static")
        ):
            return redirect(url_for("auth.password", next=request.full_path))
        g.staff = current_user if current_user.is_authenticated else None
        return None
