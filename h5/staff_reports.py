"""The clinicians' side of reports (C4.2): a report's photo, opened from the catheter page's
list (access-checked and audited as a read of the report), and the chest X-ray's tip position
recorded as the placement's with one tap. Routes of the clinician blueprint."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from bot.services import access, report_reading
from bot.services.reports import ReportError
from web import db, require_csrf, uow

from .report_parts import photo_response
from .staff import _actor, _open, bp, clinician_required


@bp.get("/staff/reports/<int:report_id>/photo")
@clinician_required
def report_photo(report_id: int) -> Response:
    """The report's photo (``?thumb=1``: a small one for the list), for a clinician who may
    see its patient; 404 otherwise, audited either way."""
    try:
        report = access.open_report(db(), _actor(), report_id, context="h5")
    except access.NotVisible:
        uow().commit()  # a refusal of an existing record is audited as denied
        abort(404)
    uow().commit()
    return photo_response(report, thumb=request.args.get("thumb") == "1")


@bp.post("/staff/catheters/<int:catheter_id>/tip")
@clinician_required
def record_tip(catheter_id: int) -> Any:
    """Record the tip position a chest X-ray report states as this placement's (confirmed by
    chest X-ray), audited with the report it came from."""
    require_csrf()
    c = _open(catheter_id)
    uow().commit()
    try:
        tip = report_reading.record_tip(
            db(), c, request.form.get("report_id", 0, type=int), _actor()
        )
    except ReportError as exc:
        uow().rollback()
        flash(str(exc))
    else:
        uow().commit()
        flash(f"已记录导管尖端位置：{tip}（胸部X线定位）。")
    return redirect(url_for("clinic.catheter", catheter_id=catheter_id) + "#tip")
