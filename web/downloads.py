"""A drawn file downloaded alike from the clinicians' H5 pages and the admin web."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from flask import send_file
from werkzeug.wrappers import Response

from . import uow

log = logging.getLogger(__name__)


def pdf(name: str, draw: Callable[[], bytes], keep: Callable[[], object]) -> Response:
    """``draw`` the PDF, ``keep`` it (the export log) and commit that with the export's audit row
    written when the record was opened; a drawing that cannot be made (a RuntimeError such as a
    missing font) is a 500 saying why, and nothing is kept."""
    try:
        data = draw()
    except RuntimeError as exc:
        uow().rollback()
        log.error("%s not drawn: %s", name, exc)
        return Response(str(exc), status=500, mimetype="text/plain")
    keep()
    uow().commit()
    return send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name
    )
