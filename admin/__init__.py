"""The staff-facing web: sign-in pages (H5 and admin) and the admin web (Flask-Admin, 中文).

``init_app`` adds Flask-Babel (Flask-Admin's Chinese), the sign-in blueprint and the admin
views; sessions, the limiter and CSRF come from ``web``. Forms carry their own CSRF token
(Flask-WTF forms and Flask-Admin's SecureForm), so the WeChat callbacks stay free of it.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from . import auth, views


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    Babel(app, locale_selector=lambda: "zh_Hans_CN")
    app.register_blueprint(auth.bp)
    views.init_admin(app)
