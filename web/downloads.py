"""A drawn file downloaded alike from the clinicians' H5 pages and the admin web: the trace's
PDF, a patient's FHIR bundle."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from flask import abort, send_file
from werkzeug.wrappers import Response

from bot.services import access, audit
from bot.services import dictionary as dictionary_service
from bot.services import fhir as fhir_service

from . import container, db, uow

log = logging.getLogger(__name__)


def pdf(name: str, draw: Callable[[], bytes], keep: Callable[[bytes], object]) -> Response:
    """A PDF: see ``attachment``."""
    return attachment(name, "application/pdf", draw, keep)


def attachment(
    name: str, mimetype: str, draw: Callable[[], bytes], keep: Callable[[bytes], object]
) -> Response:
    """``draw`` the file, ``keep`` its bytes (the export log) and commit that with the export's
    audit row written when the record was opened; a file that cannot be made (a RuntimeError
    such as a missing font or an invalid FHIR bundle) is a 500 saying why, and nothing is
    kept. A name that is not ASCII goes out as RFC 6266 ``filename*`` (werkzeug)."""
    try:
        data = draw()
    except RuntimeError as exc:
        uow().rollback()
        log.error("%s not drawn: %s", name, exc)
        return Response(str(exc), status=500, mimetype="text/plain")
    keep(data)
    uow().commit()
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


def fhir(patient_id: int, actor: audit.Actor, *, context: str) -> Response:
    """The patient's FHIR bundle (X.1) as ``患者<id>-fhir.json``, if ``actor`` may see the
    patient (404 otherwise, audited as denied): audited as an export, kept in the export log;
    identifiers as FHIR_IDENTIFIERS says."""
    s, c = db(), container()
    try:
        patient = fhir_service.open_patient(s, actor, patient_id, context=context)
    except access.NotVisible:
        uow().commit()
        abort(404)
    opts = fhir_service.options(c.settings, c.cipher)
    return attachment(
        fhir_service.file_name(patient_id),
        fhir_service.MIMETYPE,
        lambda: fhir_service.document(s, dictionary_service.current(s), patient, opts),
        lambda data: fhir_service.record_export(s, actor.id, patient_id, data, opts.identifiers),
    )
