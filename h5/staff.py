"""Clinician H5 pages opened from the WeChat Work app (C2.1, C3.1, C3.2): placement forms,
the due list, the page a phone camera opens from a catheter's QR code, the printable card."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from PIL import Image

from bot.care.rules import STATUS_COLOURS, local_date
from bot.jobs.queues import enqueue_send
from bot.models import Catheter, utcnow
from bot.models.enums import ActorType, StaffRole
from bot.security.masking import initials
from bot.services import (
    access,
    audit,
    due,
    follow_ups,
    history,
    maintenance,
    placements,
    reminders,
    report_reading,
)
from bot.services import dictionary as dictionary_service
from bot.services import reports as report_service
from bot.services.maintenance import ITEM_LABELS
from bot.services.qr import QrInvalid, reissue
from cards.qr_card import catheter_card
from web import container, db, require_csrf, uow

bp = Blueprint("clinic", __name__, template_folder="templates")
CLINICAL = {StaffRole.NURSE, StaffRole.DOCTOR, StaffRole.OUTSIDE_CLINICIAN, StaffRole.ADMIN}


def clinician_required(view):
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if current_user.role not in CLINICAL:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _actor() -> audit.Actor:
    return audit.Actor(ActorType.STAFF, current_user.id, request.remote_addr)


def _open(catheter_id: int, action: str = "read") -> Catheter:
    """The catheter if this clinician may see it, the read (or ``action``) audited; 404 else."""
    try:
        return access.open_catheter(db(), _actor(), catheter_id, context="h5", action=action)
    except access.NotVisible:
        uow().commit()  # a refusal of an existing record is audited as denied
        abort(404)


@bp.route("/staff/placements/new", methods=["GET", "POST"])
@clinician_required
def new_placement():
    s = db()
    d = dictionary_service.current(s)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {
        "device_type": request.args.get("device", "PICC"),
        "source": "here",
        "placed_on": f"{local_date(utcnow(), container().settings.timezone):%Y-%m-%d}",
    }
    if request.method == "POST":
        require_csrf()
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        form["techniques"] = request.form.getlist("techniques")
        try:
            result = placements.register(
                s,
                d,
                container().cipher,
                form,
                actor=_actor(),
                institution_id=current_user.institution_id,
                department_id=current_user.department_id,
                tz=container().settings.timezone,
                public_base_url=container().settings.public_base_url,
                qr=container().qr,
                media_root=container().settings.media_root,
            )
        except placements.PlacementInvalid as exc:
            uow().rollback()
            errors = exc.errors
        else:
            uow().commit()
            for outbox_id in result.outbox_ids:
                enqueue_send(container().redis, outbox_id)
            return redirect(url_for("clinic.catheter", catheter_id=result.catheter.id, created=1))
    return render_template(
        "staff/placement.html",
        d=d,
        form=form,
        errors=errors,
        labels=placements.LABELS,
        csrf=generate_csrf(),
    ), (400 if errors else 200)


@bp.get("/staff/catheters/<int:catheter_id>")
@clinician_required
def catheter(catheter_id: int):
    c = _open(catheter_id)
    s = db()
    d = dictionary_service.current(s)
    uow().commit()
    tz = container().settings.timezone
    visits = history.visits(s, [c.id])
    patient_reports = report_service.for_patient(s, c.patient_id)
    asked = request.args.get("report", type=int)  # from a chest X-ray's card: its tip position
    return render_template(
        "staff/catheter.html",
        c=c,
        d=d,
        reports=patient_reports,
        cues=report_reading.latest_cues(patient_reports, d),
        tip_offer=report_reading.tip_offer(s, c, asked) if asked else None,
        created=request.args.get("created"),
        csrf=generate_csrf(),
        qr_url=container().qr.url(c),
        visits=visits,
        tz=tz,
        reminders=reminders.history(s, c.id, tz),
        follow_ups=follow_ups.for_catheter(s, c.id, d),
        items=ITEM_LABELS,
    )


@bp.get("/staff/catheters/<int:catheter_id>/card.png")
@clinician_required
def card(catheter_id: int):
    """The ward's printable card as an image. Shown on the catheter page (a read already
    audited there); with ``?download=1``, a deliberate download, audited as one."""
    download = request.args.get("download") == "1"
    c = _open(catheter_id, "print_card" if download else "read")
    uow().commit()
    buf = io.BytesIO()
    _card_image(c).save(buf, "PNG")
    buf.seek(0)
    return send_file(
        buf, mimetype="image/png", as_attachment=download, download_name=f"catheter-{c.id}.png"
    )


@bp.get("/staff/catheters/<int:catheter_id>/card.pdf")
@clinician_required
def card_pdf(catheter_id: int):
    """The same card as a one-page PDF for the ward printer, drawn at twice the size and
    300 dpi (about 68 × 88 mm); a deliberate download, so it is audited as one."""
    c = _open(catheter_id, "print_card")
    uow().commit()
    buf = io.BytesIO()
    _card_image(c, scale=2).save(
        buf, "PDF", resolution=300.0, quality=95, title=f"置管二维码卡片 {c.id}"
    )
    buf.seek(0)
    return send_file(buf, mimetype="application/pdf", download_name=f"catheter-{c.id}.pdf")


def _card_image(c: Catheter, scale: int = 1) -> Image.Image:
    d = dictionary_service.current(db())
    settings = container().settings
    return catheter_card(
        container().qr.png(c, settings.media_root),
        initials(c.patient.name),
        d.label("device_types", c.device_type),
        local_date(c.placed_at, settings.timezone),
        scale,
    )


@bp.post("/staff/catheters/<int:catheter_id>/reissue")
@clinician_required
def reissue_code(catheter_id: int):
    require_csrf()
    c = _open(catheter_id, "reissue_qr")
    reissue(c)
    uow().commit()
    return redirect(url_for("clinic.catheter", catheter_id=c.id))


@bp.get("/staff/due")
@clinician_required
def due_list():
    s = db()
    d = dictionary_service.current(s)
    today = local_date(utcnow(), container().settings.timezone)
    entries = due.due_list(
        s, d, today, institution_id=current_user.institution_id, actor=_actor(), limit=500
    )
    uow().commit()
    return render_template("staff/due.html", entries=entries, today=today, colours=STATUS_COLOURS)


@bp.get("/q/<token>")
def scanned(token: str):
    """A phone camera opened a catheter's code: the record for the patient's own follower or an
    authorised clinician; anyone else is asked to sign in."""
    s = db()
    try:
        c = container().qr.catheter(s, token)
    except QrInvalid as exc:
        return render_template("h5/problem.html", title="无法识别的二维码", message=str(exc)), 404
    if current_user.is_authenticated and current_user.role in CLINICAL:
        try:
            access.open_catheter(s, _actor(), c.id, context="h5-scan", action="scan")
        except access.NotVisible:
            return render_template(
                "h5/problem.html", title="没有权限", message="您没有查看该患者的权限。"
            ), 403
        finally:
            uow().commit()
        return redirect(url_for("clinic.catheter", catheter_id=c.id))
    from flask import session as web_session

    account_id = web_session.get("account_id")
    if account_id and access.account_may_see_patient(s, account_id, c.patient_id):
        return redirect(url_for("patient.catheter", catheter_id=c.id))
    return render_template("staff/scan_signin.html", next=request.path), 401


@bp.route("/staff/catheters/<int:catheter_id>/maintenance", methods=["GET", "POST"])
@clinician_required
def maintenance_form(catheter_id: int):
    """The full maintenance form (C3.2, C3.3); the key in the page makes a double tap one record."""
    c = _open(catheter_id)
    uow().commit()  # the read is kept whatever happens to the form
    s = db()
    d = dictionary_service.current(s)
    tz = container().settings.timezone
    today = local_date(utcnow(), tz)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"performed_on": today.isoformat(), "key": uuid.uuid4().hex}
    if request.method == "POST":
        require_csrf()
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        visit, errors = _visit(
            d, form, request.form.getlist("items"), request.form.getlist("site"), today, tz
        )
        if visit is not None and not errors:
            try:
                result = maintenance.register(
                    s,
                    d,
                    c.id,
                    visit,
                    tz=tz,
                    actor=_actor(),
                    institution_id=current_user.institution_id,
                    idempotency_key=f"h5:{form.get('key', '')}",
                )
            except maintenance.MaintenanceRefused as exc:
                uow().rollback()
                errors["form"] = str(exc)
            else:
                uow().commit()
                return render_template("staff/maintained.html", c=c, result=result)
    return render_template(
        "staff/maintenance.html",
        c=c,
        d=d,
        form=form,
        errors=errors,
        csrf=generate_csrf(),
        items=maintenance.ITEM_LABELS,
    ), (400 if errors else 200)


def _visit(d: Any, form: dict[str, Any], items: list[str], site: list[str], today: date, tz: Any):
    errors: dict[str, str] = {}
    try:
        performed = date.fromisoformat(str(form.get("performed_on")))
        if performed > today:
            errors["performed_on"] = "维护日期不能晚于今天"
    except ValueError:
        errors["performed_on"] = "请填写维护日期"
        performed = today
    if not items:
        errors["items"] = "请至少选择一项维护内容"
    lengths: dict[str, Decimal | None] = {}
    for name, label in (("external_length_cm", "外露长度"), ("arm_circumference_cm", "臂围")):
        low, high = placements.RANGES[name]  # the placement form's plausible ranges
        raw = str(form.get(name) or "").strip()
        if not raw:
            lengths[name] = None
            continue
        try:
            value = Decimal(raw)
        except InvalidOperation:
            errors[name] = f"{label}请填写数字"
            continue
        if not low <= value <= high:
            errors[name] = f"{label}应在 {low}–{high} cm 之间"
        lengths[name] = value
    explicit = None
    if form.get("next_due_on"):
        try:
            explicit = date.fromisoformat(str(form["next_due_on"]))
            if explicit < performed:
                errors["next_due_on"] = "下次维护日期不能早于本次维护"
        except ValueError:
            errors["next_due_on"] = "日期格式不正确"
    if errors:
        return None, errors
    visit = maintenance.Visit(
        items=frozenset(items),
        performed_at=datetime.combine(performed, time(12), tzinfo=tz),
        site_findings=[f for f in site if f != "NORMAL" and d.has_code("site_findings", f)],
        external_length_cm=lengths.get("external_length_cm"),
        arm_circumference_cm=lengths.get("arm_circumference_cm"),
        notes=str(form.get("notes") or "").strip() or None,
        next_due_explicit=explicit,
        blood_return={"yes": True, "no": False}.get(str(form.get("blood_return"))),
        patency=form.get("patency") or None,
        catheter_intact={"yes": True, "no": False}.get(str(form.get("intact"))),
    )
    return visit, {}


@bp.post("/staff/catheters/<int:catheter_id>/follow-up")
@clinician_required
def follow_up(catheter_id: int):
    """Tier, custom follow-up and maintenance cycles, notes and an explicit next maintenance date
    (C3.3, A7.4)."""
    require_csrf()
    c = _open(catheter_id)
    uow().commit()
    s = db()
    d = dictionary_service.current(s)
    raw_cycle = (request.form.get("cycle_days") or "").strip()
    raw_maintenance = (request.form.get("maintenance_cycle_days") or "").strip()
    raw_next = (request.form.get("next_due_on") or "").strip()
    try:
        cycle = int(raw_cycle) if raw_cycle else None
        maintenance_cycle = int(raw_maintenance) if raw_maintenance else None
        next_due = date.fromisoformat(raw_next) if raw_next else None
        maintenance.set_follow_up(
            s,
            d,
            c,
            tier=request.form.get("tier", c.tier),
            cycle_days=cycle,
            maintenance_cycle_days=maintenance_cycle,
            notes=(request.form.get("notes") or "").strip() or None,
            next_due=next_due,
            tz=container().settings.timezone,
            actor=_actor(),
        )
    except ValueError:
        uow().rollback()
        flash_message = "随访周期请填写整数天数，日期请用正确格式。"
    except maintenance.MaintenanceRefused as exc:
        uow().rollback()
        flash_message = str(exc)
    else:
        uow().commit()
        follow = c.next_follow_up_on
        flash_message = f"随访计划已保存，下次维护日期：{c.next_due_on:%Y年%m月%d日}；" + (
            f"下次随访：{follow:%Y年%m月%d日}。" if follow else "不另行随访。"
        )
    flash(flash_message)
    return redirect(url_for("clinic.catheter", catheter_id=c.id))
