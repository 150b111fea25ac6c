"""The clinicians' cross-hospital pages (C4.1, C4.2, A7.5): one patient's merged timeline (every
entry with its institution and a source mark 本院 / 外院 / 患者上传, newest first), the records
other institutions registered for a patient, the patients who have such records, and the
one-click trace of a catheter or a patient (oldest first) with its PDF and the patient's FHIR
bundle (X.1). Routes of the clinician blueprint; every read goes through the trace and
outside-records services, which check access and audit it, and a PDF or FHIR download is
audited as an export and kept in the export log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from bot.models import Patient, utcnow
from bot.services import access, outside_records, trace
from bot.services import dictionary as dictionary_service
from cards import trace_pdf
from web import container, db, downloads, uow

from .staff import _actor, bp, clinician_required


def _opened(open_trace: Callable[..., trace.Trace], object_id: int, **kwargs: Any) -> trace.Trace:
    """The trace if this clinician may see it, the read audited; 404 else (audited as denied)."""
    s = db()
    try:
        return open_trace(
            s,
            dictionary_service.current(s),
            object_id,
            actor=_actor(),
            tz=container().settings.timezone,
            cipher=container().cipher,
            **kwargs,
        )
    except access.NotVisible:
        uow().commit()
        abort(404)


def _page(t: trace.Trace) -> str:
    uow().commit()
    return render_template("staff/trace.html", t=t, tz=container().settings.timezone)


@bp.get("/staff/catheters/<int:catheter_id>/trace")
@clinician_required
def catheter_trace(catheter_id: int) -> Any:
    return _page(_opened(trace.for_catheter, catheter_id, context="h5-trace"))


@bp.get("/staff/patients/<int:patient_id>/trace")
@clinician_required
def patient_trace(patient_id: int) -> Any:
    return _page(_opened(trace.for_patient, patient_id, context="h5-trace"))


@bp.get("/staff/catheters/<int:catheter_id>/trace.pdf")
@clinician_required
def catheter_trace_pdf(catheter_id: int) -> Response:
    t = _opened(trace.for_catheter, catheter_id, context="h5-trace-pdf", action="export")
    return _pdf(t)


@bp.get("/staff/patients/<int:patient_id>/trace.pdf")
@clinician_required
def patient_trace_pdf(patient_id: int) -> Response:
    t = _opened(trace.for_patient, patient_id, context="h5-trace-pdf", action="export")
    return _pdf(t)


@bp.get("/staff/patients/<int:patient_id>/trace.fhir.json")
@clinician_required
def patient_trace_fhir(patient_id: int) -> Response:
    """The patient's record as a FHIR R4 bundle (X.1), for a patient this clinician may see."""
    return downloads.fhir(patient_id, _actor(), context="h5-fhir")


@bp.get("/staff/patients/<int:patient_id>")
@clinician_required
def patient_timeline(patient_id: int) -> Any:
    """One merged timeline per patient: this hospital's, other institutions' and the patient's
    own records, newest first, each with its institution and source."""
    t = _opened(trace.for_patient, patient_id, context="h5-timeline")
    uow().commit()
    return render_template("staff/timeline.html", t=t, tz=container().settings.timezone)


@bp.get("/staff/patients/<int:patient_id>/outside")
@clinician_required
def patient_outside(patient_id: int) -> Any:
    s = db()
    try:
        records = outside_records.for_patient(
            s,
            access.staff_of(s, _actor()),
            patient_id,
            tz=container().settings.timezone,
            context="h5",
            ip=request.remote_addr,
        )
    except access.NotVisible:
        uow().commit()
        abort(404)
    uow().commit()
    patient = s.get(Patient, patient_id)
    return render_template("staff/outside_patient.html", patient=patient, records=records)


@bp.get("/staff/outside-records")
@clinician_required
def outside_patients() -> Any:
    """Patients with records from other institutions, the newest such record first."""
    s = db()
    found = outside_records.recent_patients(
        s,
        access.staff_of(s, _actor()),
        limit=50,
        tz=container().settings.timezone,
        context="h5",
        ip=request.remote_addr,
    )
    uow().commit()
    return render_template("staff/outside_records.html", patients=found)


def _pdf(t: trace.Trace) -> Response:
    """The trace as a PDF download, kept in the export log (web.downloads)."""
    tz, me = container().settings.timezone, current_user
    return downloads.pdf(
        t.file_name,
        lambda: trace_pdf.render(t, generated_by=me.name, generated_at=utcnow(), tz=tz),
        lambda data: trace.record_export(db(), me.id, t, data),
    )
