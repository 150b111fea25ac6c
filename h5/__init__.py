"""H5 pages opened from WeChat and WeChat Work: the outside-clinician application (C1.2), the
patient pages (binding, home, 就诊人, records) and the clinician pages (placement, due list,
catheter record, maintenance)."""

from __future__ import annotations

from flask import Flask

from . import apply, patient, staff


def init_app(app: Flask) -> None:
    app.register_blueprint(apply.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(staff.bp)
