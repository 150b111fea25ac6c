"""H5 pages opened from WeChat and WeChat Work: the outside-clinician application (C1.2), the
patient pages (binding, home, 就诊人, records, reports) and the clinician pages (placement, due
list, catheter record with its reports, maintenance)."""

from __future__ import annotations

from flask import Flask

from . import apply, patient, report_parts, staff

# routes added to the patient and clinician blueprints by modules of their own
from . import reports as _patient_reports  # noqa: F401  isort: skip
from . import staff_reports as _staff_reports  # noqa: F401  isort: skip
from . import staff_complications as _staff_complications  # noqa: F401  isort: skip
from . import staff_follow_ups as _staff_follow_ups  # noqa: F401  isort: skip
from . import staff_removal as _staff_removal  # noqa: F401  isort: skip
from . import staff_trace as _staff_trace  # noqa: F401  isort: skip
from . import staff_consultations as _staff_consultations  # noqa: F401  isort: skip
from . import articles as _articles  # noqa: F401  isort: skip
from . import appointments as _appointments  # noqa: F401  isort: skip
from . import staff_appointments as _staff_appointments  # noqa: F401  isort: skip
from . import account as _patient_account  # noqa: F401  isort: skip
from . import nearby as _nearby  # noqa: F401  isort: skip


def init_app(app: Flask) -> None:
    app.register_blueprint(apply.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(staff.bp)
    report_parts.init_app(app)
