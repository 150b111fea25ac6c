"""The removal form (拔管登记) on the clinician's H5 pages: date, reason, the complication it
ended, catheter intact, tip culture, notes; a date before the last maintenance comes back to be
confirmed; a removed catheter's page says when and why instead of a form. Routes of the
clinician blueprint."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from bot.care.dictionary import Dictionary
from bot.care.rules import local_date
from bot.jobs.queues import enqueue_send
from bot.models import Catheter, utcnow
from bot.models.enums import CatheterState
from bot.services import dictionary as dictionary_service
from bot.services import removals
from web import container, db, require_csrf, uow

from .staff import _actor, _open, bp, clinician_required

NOTES_MAX = 500
YES_NO = {"yes": True, "no": False, "": None}


@bp.route("/staff/catheters/<int:catheter_id>/removal", methods=["GET", "POST"])
@clinician_required
def removal_form(catheter_id: int) -> Any:
    c = _open(catheter_id)
    uow().commit()  # the read is kept whatever happens to the form
    s = db()
    d = dictionary_service.current(s)
    tz = container().settings.timezone
    today = local_date(utcnow(), tz)
    if c.state is not CatheterState.IN_PLACE:
        saved = request.args.get("saved") == "1"
        refused = request.method == "POST"
        if refused:
            flash(removals.already_removed(s, d, c))
        page = render_template(
            "staff/removal.html", c=c, d=d, saved=saved and not refused, csrf=generate_csrf()
        )
        return page, (409 if refused else 200)
    form: dict[str, Any] = {"removed_on": today.isoformat()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        require_csrf()
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        fields, errors = _fields(d, c, form)
        if not errors:
            try:
                result = removals.register(
                    s,
                    d,
                    c.id,
                    tz=tz,
                    actor=_actor(),
                    institution_id=current_user.institution_id,
                    context="h5",
                    **fields,
                )
            except removals.NeedsConfirmation as exc:
                uow().rollback()
                errors["confirm"] = str(exc)
            except removals.RemovalRefused as exc:
                uow().rollback()
                errors["form"] = str(exc)
            else:
                uow().commit()
                for outbox_id in result.outbox_ids:
                    enqueue_send(container().redis, outbox_id)
                return redirect(url_for("clinic.removal_form", catheter_id=c.id, saved=1))
    return render_template(
        "staff/removal.html",
        c=c,
        d=d,
        form=form,
        errors=errors,
        csrf=generate_csrf(),
        today=today,
        tz=tz,
    ), (400 if errors else 200)


@bp.post("/staff/catheters/<int:catheter_id>/removal/tip-culture")
@clinician_required
def tip_culture(catheter_id: int) -> Any:
    """The tip culture's result, recorded when it comes back after the removal."""
    require_csrf()
    c = _open(catheter_id)
    uow().commit()
    try:
        removals.record_tip_culture(
            db(), c.id, request.form.get("tip_culture_result") or "", actor=_actor()
        )
    except removals.RemovalRefused as exc:
        uow().rollback()
        flash(str(exc))
    else:
        uow().commit()
        flash("已记录尖端培养结果。")
    return redirect(url_for("clinic.removal_form", catheter_id=c.id))


def _fields(
    d: Dictionary, c: Catheter, form: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's arguments from the form, and field errors in Chinese."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    try:
        fields["removed_on"] = date.fromisoformat(str(form.get("removed_on") or ""))
    except ValueError:
        errors["removed_on"] = "请填写拔管日期"
    reason = str(form.get("reason") or "")
    if not d.has_code("removal_reasons", reason):
        errors["reason"] = "请选择拔管原因"
    fields["reason"] = reason
    raw_complication = str(form.get("complication_id") or "")
    known = {str(x.id) for x in c.complications}
    if raw_complication and raw_complication not in known:
        errors["complication_id"] = "所选并发症不属于这根导管，请重新选择"
    fields["complication_id"] = int(raw_complication) if raw_complication in known else None
    intact = str(form.get("catheter_intact") or "")
    if intact not in YES_NO:
        errors["catheter_intact"] = "请选择导管是否完整"
    fields["catheter_intact"] = YES_NO.get(intact)
    result = str(form.get("tip_culture_result") or "").strip()
    if len(result) > removals.TIP_RESULT_MAX:
        errors["tip_culture_result"] = f"尖端培养结果请控制在{removals.TIP_RESULT_MAX}字以内"
    fields["tip_culture_sent"] = form.get("tip_culture_sent") == "1" or bool(result)
    fields["tip_culture_result"] = result or None
    notes = str(form.get("notes") or "").strip()
    if len(notes) > NOTES_MAX:
        errors["notes"] = f"备注请控制在{NOTES_MAX}字以内"
    fields["notes"] = notes or None
    fields["confirmed"] = form.get("confirmed") == "1"
    return fields, errors
