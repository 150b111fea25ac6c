"""One-click trace in the admin web (一键溯源, A7.5): find a catheter by patient name, hospital
patient id or catheter id, then the same trace as the clinicians' page and its PDF. Reads are
audited by the trace service; a PDF is audited as an export and kept in the export log."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

from flask import abort, request, send_file
from flask_admin import BaseView, expose
from flask_login import current_user
from werkzeug.wrappers import Response

from bot.models import utcnow
from bot.services import access, trace
from bot.services import dictionary as dictionary_service
from cards import trace_pdf
from web import container, db, uow

from .base import AdminOnly, admin_actor

log = logging.getLogger(__name__)
CONTEXT = "admin_trace"


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
    try:
        data = trace_pdf.render(
            t,
            generated_by=current_user.name,
            generated_at=utcnow(),
            tz=container().settings.timezone,
        )
    except trace_pdf.FontMissing as exc:
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
