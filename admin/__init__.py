"""The staff-facing web: sign-in pages (H5 and admin) and the admin web (Flask-Admin, 中文).

``init_app`` wires Flask-Login (staff sessions that expire), Flask-Limiter on Redis (sign-in
attempts per address), Flask-Babel (Flask-Admin's Chinese) and the admin views. Forms carry
their own CSRF token (Flask-WTF forms and Flask-Admin's SecureForm), so the WeChat callbacks
stay free of it.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import validate_csrf
from sqlalchemy.orm import Session, scoped_session
from wtforms import ValidationError

from bot.infra import redis as redis_infra
from bot.models import Staff

SESSION_HOURS = 8  # a shift; then sign in again
limiter = Limiter(get_remote_address, default_limits=[], headers_enabled=True)


def db(app: Flask | None = None) -> scoped_session[Session]:
    """The request's session for web views (removed when the request ends)."""
    c = (app or current_app).extensions["vam"]
    if "scoped" not in c.__dict__:
        c.__dict__["scoped"] = scoped_session(c.session_factory)
    return c.__dict__["scoped"]


def require_csrf() -> None:
    """A hand-written form must carry the session's CSRF token; 400 otherwise."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)


def init_app(app: Flask) -> None:
    settings = app.extensions["vam"].settings
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=SESSION_HOURS)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    url = redis_infra.url_for(settings)
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI",
        url.replace("unix://", "redis+unix://", 1) if url.startswith("unix://") else url,
    )
    limiter.init_app(app)
    Babel(app, locale_selector=lambda: "zh_Hans_CN")

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.login_message = "请先登录"
    login.session_protection = "strong"

    @login.user_loader
    def load(staff_id: str) -> Staff | None:
        staff = db().get(Staff, int(staff_id))
        return staff if staff is not None and staff.active else None

    @app.teardown_appcontext
    def remove_session(_exc: BaseException | None) -> None:
        db(app).remove()

    @app.before_request
    def password_must_be_changed():  # type: ignore[no-untyped-def]
        """An administrator-set password is changed before anything else."""
        if (
            current_user.is_authenticated
            and current_user.password_changed_at is None
            and request.endpoint not in ("auth.password", "auth.logout", "static")
        ):
            return redirect(url_for("auth.password", next=request.full_path))
        g.staff = current_user if current_user.is_authenticated else None
        return None

    from . import auth, views

    app.register_blueprint(auth.bp)
    views.init_admin(app)
