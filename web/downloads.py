"""Downloads answered alike on the clinicians' H5 pages and in the admin web."""

from __future__ import annotations

import io
import logging

from flask import send_file
from flask_login import current_user
from werkzeug.wrappers import Response

from bot.models import utcnow
from bot.services import trace
from cards import trace_pdf as pdf

from . import container, db, uow

log = logging.getLogger(__name__)


def trace_pdf(t: trace.Trace) -> Response:
    """Draw the trace as a PDF, keep it in the export log and commit the export's audit row
    (written when the trace was opened) with it; a missing font is a 500 naming the package."""
    try:
        data = pdf.render(
            t,
            generated_by=current_user.name,
            generated_at=utcnow(),
            tz=container().settings.timezone,
        )
    except pdf.FontMissing as exc:
        uow().rollback()
        log.error("trace PDF not drawn: %s", exc)
        return Response(str(exc), status=500, mimetype="text/plain")
    trace.record_export(db(), current_user.id, t)
    uow().commit()
    name = f"trace-catheter-{t.catheter_id}" if t.catheter_id else f"trace-patient-{t.patient_id}"
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{name}.pdf",
    )
