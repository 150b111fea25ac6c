"""The clinic's bookings of a day (P8.1): pick a clinic and a date, see who booked, and mark
each 已到 / 未到. Routes of the clinician blueprint; the clinic's own nurses and doctors and
administrators only (``appointments.may_run``), every listing an audited read."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from bot.care.rules import local_date
from bot.models import utcnow
from bot.services import access, appointments
from web import container, db, require_csrf, uow

from .staff import _actor, bp, clinician_required


def _day() -> date:
    try:
        return date.fromisoformat(request.values.get("day", ""))
    except ValueError:
        return local_date(utcnow(), container().settings.timezone)


@bp.get("/staff/appointments")
@clinician_required
def clinic_day() -> Any:
    s = db()
    clinics = appointments.clinics_for(s, _actor())
    if not clinics:
        abort(403)
    wanted = request.args.get("institution", type=int)
    clinic = next((c for c in clinics if c.id == wanted), clinics[0])
    day = _day()
    tz = container().settings.timezone
    entries = appointments.day_list(s, clinic.id, day, tz, actor=_actor())
    uow().commit()
    return render_template(
        "staff/appointments.html",
        clinics=clinics,
        clinic=clinic,
        day=day,
        entries=entries,
        tz=tz,
        csrf=generate_csrf(),
    )


@bp.post("/staff/appointments/<int:appointment_id>/mark")
@clinician_required
def mark_appointment(appointment_id: int) -> Response:
    require_csrf()
    try:
        appointments.mark(
            db(),
            appointment_id,
            request.form.get("outcome", ""),
            actor=_actor(),
            now=utcnow(),
            tz=container().settings.timezone,
        )
    except access.NotVisible:
        uow().commit()  # the refusal is audited
        abort(404)
    except appointments.Refused as exc:
        uow().rollback()
        flash(str(exc), "error")
    else:
        uow().commit()
        flash("已记录。", "ok")
    return redirect(
        url_for(
            "clinic.clinic_day",
            institution=request.form.get("institution", type=int),
            day=_day().isoformat(),
        )
    )
