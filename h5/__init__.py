"""H5 pages opened from WeChat and WeChat Work: the outside-clinician application (C1.2), and
the patient pages (binding, home, 就诊人)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import apply, patient, staff

    app.register_blueprint(apply.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(staff.bp)
