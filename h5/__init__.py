"""H5 pages opened from WeChat and WeChat Work: the outside-clinician application (C1.2) …"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import apply

    app.register_blueprint(apply.bp)
