"""One-click trace in the admin web (一键溯源, A7.5): find a catheter by patient name, hospital
patient id or catheter id, then the same trace as the clinicians' page, its PDF and the patient's
FHIR bundle (X.1). Reads are audited by the trace service; a PDF or a FHIR bundle is audited as
an export and kept in the export log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, request
from flask_admin import BaseView, expose
from flask_login import current_user
from werkzeug.wrappers import Response

from bot.models import utcnow
from bot.services import access, trace
from bot.services import dictionary as dictionary_service
from cards import trace_pdf
from web import container, db, downloads, uow

from .base import AdminOnly, admin_actor

CONTEXT = "admin_trace"
FHIR_CONTEXT = "admin_fhir"


class TraceView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        q = (request.args.get("q") or "").strip()
        s = db()
        found = trace.search(s, admin_actor(), q, context=CONTEXT) if q else []
        uow().commit()
        d = dictionary_service.current(s)
        return self.render(
            "admin/trace_search.html", q=q, found=found, d=d, tz=container().settings.timezone
        )

    @expose("/catheter/<int:catheter_id>")
    def catheter(self, catheter_id: int) -> Any:
        return self._page(self._opened(trace.for_catheter, catheter_id))

    @expose("/patient/<int:patient_id>")
    def patient(self, patient_id: int) -> Any:
        return self._page(self._opened(trace.for_patient, patient_id))

    @expose("/catheter/<int:catheter_id>.pdf")
    def catheter_pdf(self, catheter_id: int) -> Response:
        return _pdf(self._opened(trace.for_catheter, catheter_id, action="export"))

    @expose("/patient/<int:patient_id>.pdf")
    def patient_pdf(self, patient_id: int) -> Response:
        return _pdf(self._opened(trace.for_patient, patient_id, action="export"))

    @expose("/patient/<int:patient_id>.fhir.json")
    def patient_fhir(self, patient_id: int) -> Response:
        """The patient's record as a FHIR R4 bundle (X.1)."""
        return downloads.fhir(patient_id, admin_actor(), context=FHIR_CONTEXT)

    def _opened(
        self, open_trace: Callable[..., trace.Trace], object_id: int, action: str = "read"
    ) -> trace.Trace:
        s = db()
        try:
            return open_trace(
                s,
                dictionary_service.current(s),
                object_id,
                actor=admin_actor(),
                tz=container().settings.timezone,
                cipher=container().cipher,
                context=CONTEXT,
                action=action,
            )
        except access.NotVisible:
            uow().commit()
            abort(404)

    def _page(self, t: trace.Trace) -> Any:
        uow().commit()
        return self.render("admin/trace.html", t=t, tz=container().settings.timezone)


def _pdf(t: trace.Trace) -> Response:
    """The trace as a PDF download, kept in the export log (web.downloads)."""
    tz, me = container().settings.timezone, current_user
    return downloads.pdf(
        t.file_name,
        lambda: trace_pdf.render(t, generated_by=me.name, generated_at=utcnow(), tz=tz),
        lambda data: trace.record_export(db(), me.id, t, data),
    )
