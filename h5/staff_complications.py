"""The clinicians' complication pages (P6.4, C3.4, C3.5, A7.3): the list with its filters, the
whole record with its photos, timeline and consultations, handling steps, closing and
reopening, and the report form opened from a catheter. Routes of the clinician blueprint;
every read goes through the complication service, which checks access and audits it."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from bot.care.dictionary import Dictionary
from bot.care.rules import local_date
from bot.jobs.queues import enqueue_send
from bot.models import Catheter, Complication, Consultation, Department, Staff, utcnow
from bot.models.enums import CatheterState, ComplicationStatus
from bot.services import access
from bot.services import complications as svc
from bot.services import dictionary as dictionary_service
from bot.services.consultations import views as consultation_views
from web import container, db, require_csrf, uow

from .report_parts import image_response
from .staff import _actor, _open, bp, clinician_required

log = logging.getLogger(__name__)
UPLOAD_LIMIT = svc.MAX_PHOTOS * 10 * 1024 * 1024 + 1024 * 1024  # nine 10 MB photos and the form
STATUS_FILTERS = {"open": "未结案", "closed": "已结案", "all": "全部"}
TEXT_FIELDS = ("basic_info", "brief_history", "treatment", "nursing_exam")


@bp.app_template_global("complication_status")
def complication_status(status: ComplicationStatus) -> str:
    """待处理 / 处理中 / 已结案, for the catheter page's list."""
    return svc.status_label(status)


def _record(complication_id: int) -> Complication:
    """The complication if this clinician may see it, the read audited; 404 else."""
    try:
        return svc.detail(db(), _d(), complication_id, actor=_actor())
    except access.NotVisible:
        uow().commit()  # a refusal of an existing record is audited as denied
        abort(404)


def _consultations(s: Any, complication_id: int) -> list[Consultation]:
    """The complication's consultations this clinician may see: all for home staff, only
    those they take part in for an outside clinician (as the case page decides)."""
    listed = svc.consultations(s, complication_id)
    shown = consultation_views.shown_to(s.get_one(Staff, current_user.id))
    ids = set(
        s.scalars(select(Consultation.id).where(Consultation.id.in_([k.id for k in listed]), shown))
    )
    return [k for k in listed if k.id in ids]


def _d() -> Dictionary:
    return dictionary_service.current(db())


def _photos() -> list[tuple[bytes, str]]:
    """The chosen files (bytes, file name); the request's size is capped before parsing."""
    request.max_content_length = UPLOAD_LIMIT
    return [(f.read(), f.filename or "") for f in request.files.getlist("photos") if f.filename]


@bp.get("/staff/complications")
@clinician_required
def complications() -> Any:
    """未结案 / 已结案 / 全部, by type, device and department, or only "mine"."""
    s = db()
    d = _d()
    status = request.args.get("status", "open")
    status = status if status in STATUS_FILTERS else "open"
    chosen: dict[str, Any] = {
        "status": status,
        "type": request.args.get("type") or "",
        "device": request.args.get("device") or "",
        "department": request.args.get("department", type=int),
        "mine": request.args.get("mine") == "1",
    }
    entries = svc.listing(
        s,
        d,
        actor=_actor(),
        status=None if status == "all" else status,
        type_code=chosen["type"] or None,
        device_type=chosen["device"] or None,
        department_id=chosen["department"],
        mine=chosen["mine"],
        limit=300,
    )
    uow().commit()
    departments = s.scalars(
        select(Department)
        .where(Department.institution_id == current_user.institution_id, Department.active)
        .order_by(Department.name)
    ).all()
    return render_template(
        "staff/complications.html",
        d=d,
        entries=entries,
        chosen=chosen,
        statuses=STATUS_FILTERS,
        departments=departments,
        tz=container().settings.timezone,
    )


@bp.get("/staff/complications/<int:complication_id>")
@clinician_required
def complication(complication_id: int) -> Any:
    c = _record(complication_id)
    uow().commit()
    return _record_page(c)


def _record_page(
    c: Complication, error: str | None = None, status: int = 200, typed: str = ""
) -> Any:
    s = db()
    d = _d()
    ids = {c.reported_by_id, c.responsible_staff_id, c.closed_by_id}
    ids |= {step.staff_id for step in c.steps}
    names = {
        st.id: st.name for st in s.scalars(select(Staff).where(Staff.id.in_([i for i in ids if i])))
    }
    department = s.get(Department, c.department_id) if c.department_id else None
    return render_template(
        "staff/complication.html",
        c=c,
        d=d,
        svc=svc,
        names=names,
        department=department,
        consultations=_consultations(s, c.id),
        tz=container().settings.timezone,
        csrf=generate_csrf(),
        key=uuid.uuid4().hex,
        error=error,
        typed=typed,
        created=request.args.get("created"),
        duplicate=request.args.get("dup"),
        closed=c.status is ComplicationStatus.CLOSED,
        kinds=[k for k in d.codes.get("handling_steps", {}).values()],
    ), status


@bp.get("/staff/complications/<int:complication_id>/photos/<int:photo_id>")
@clinician_required
def complication_photo(complication_id: int, photo_id: int) -> Response:
    """A complication's photo (``?thumb=1``: small, for the record page), for a clinician who
    may see its patient; 404 otherwise, audited either way."""
    try:
        photo = svc.photo_of(db(), complication_id, photo_id, actor=_actor())
    except access.NotVisible:
        uow().commit()
        abort(404)
    uow().commit()
    return image_response(photo.path, thumb=request.args.get("thumb") == "1")


@bp.post("/staff/complications/<int:complication_id>/steps")
@clinician_required
def add_step(complication_id: int) -> Any:
    """A handling step (text, kind, photos), or photos alone; a bad photo keeps nothing of the
    step and says why. A closed complication asks to be reopened first."""
    try:
        photos = _photos()
    except RequestEntityTooLarge:
        return _refused(complication_id, _too_large(), 413)
    require_csrf()
    c = _record(complication_id)
    uow().commit()
    text = (request.form.get("text") or "").strip()
    key = request.form.get("key") or ""
    try:
        step_id = None
        if text or not photos:
            step = svc.add_step(
                db(),
                _d(),
                c.id,
                text=text,
                actor=_actor(),
                kind=request.form.get("kind") or None,
                idempotency_key=f"h5:{key}" if key else None,
                context="h5",
            )
            step_id = step.id
        if photos:
            svc.add_photos(
                db(),
                c.id,
                photos,
                actor=_actor(),
                media=container().media,
                step_id=step_id,
                context="h5",
            )
    except svc.ComplicationRefused as exc:
        uow().rollback()
        return _refused(complication_id, str(exc), 400, text)
    uow().commit()
    flash("已记录处理措施。" if text else f"已添加{len(photos)}张照片。")
    return redirect(url_for("clinic.complication", complication_id=c.id) + "#timeline")


@bp.post("/staff/complications/<int:complication_id>/close")
@clinician_required
def close_complication(complication_id: int) -> Any:
    require_csrf()
    c = _record(complication_id)
    uow().commit()
    try:
        svc.close(
            db(),
            _d(),
            c.id,
            outcome=request.form.get("outcome") or "",
            note=request.form.get("note"),
            actor=_actor(),
            context="h5",
        )
    except svc.ComplicationRefused as exc:
        uow().rollback()
        return _refused(complication_id, str(exc), 400)
    uow().commit()
    flash("并发症已结案。")
    return redirect(url_for("clinic.complication", complication_id=c.id))


@bp.post("/staff/complications/<int:complication_id>/reopen")
@clinician_required
def reopen_complication(complication_id: int) -> Any:
    require_csrf()
    c = _record(complication_id)
    uow().commit()
    try:
        svc.reopen(
            db(), c.id, reason=request.form.get("reason") or "", actor=_actor(), context="h5"
        )
    except svc.ComplicationRefused as exc:
        uow().rollback()
        return _refused(complication_id, str(exc), 400)
    uow().commit()
    flash("已重新开启，可继续记录处理措施。")
    return redirect(url_for("clinic.complication", complication_id=c.id) + "#timeline")


def _refused(complication_id: int, reason: str, status: int, typed: str = "") -> Any:
    """The record page again with the reason (and the step's text as typed), nothing of the
    refused change kept."""
    log.info("complication %s: %s refused: %s", complication_id, request.path, reason)
    c = _record(complication_id)
    uow().commit()
    return _record_page(c, reason, status, typed)


def _too_large() -> str:
    return f"一次上传的照片合计不能超过{UPLOAD_LIMIT // 1024 // 1024}MB，请少选几张或分几次上传。"


@bp.route("/staff/catheters/<int:catheter_id>/complications/new", methods=["GET", "POST"])
@clinician_required
def new_complication(catheter_id: int) -> Any:
    """The complication form (P6.4): every field, photos, a key that makes a double tap one
    record. A refusal (removed catheter, grade, onset, a bad photo) keeps nothing."""
    photos: list[tuple[bytes, str]] = []
    error = None
    if request.method == "POST":
        try:
            photos = _photos()
        except RequestEntityTooLarge:
            error = _too_large()
    c = _open(catheter_id)
    uow().commit()  # the read is kept whatever happens to the form
    d = _d()
    tz = container().settings.timezone
    today = local_date(utcnow(), tz)
    form: dict[str, Any] = {"onset_on": today.isoformat(), "key": uuid.uuid4().hex}
    if c.state is CatheterState.REMOVED:
        when = f"（{c.removed_on:%Y-%m-%d}）" if c.removed_on else ""
        error = error or f"该导管已拔管{when}，不能再登记并发症。"
    if request.method == "POST" and error is None:
        require_csrf()
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        error, done = _save(c, d, form, photos)
        if done is not None:
            return done
    return render_template(
        "staff/complication_new.html",
        c=c,
        d=d,
        svc=svc,
        form=form,
        error=error,
        csrf=generate_csrf(),
        today=today,
        placed_on=local_date(c.placed_at, tz),
        basic_info=svc.basic_info_of(d, c, today, tz),
    ), (400 if error and request.method == "POST" else 200)


def _save(
    c: Catheter, d: Dictionary, form: dict[str, Any], photos: list[tuple[bytes, str]]
) -> tuple[str | None, Any]:
    """(the reason it was refused, None) or (None, the redirect to the saved record)."""
    try:
        onset = date.fromisoformat(str(form.get("onset_on") or ""))
    except ValueError:
        return "请填写发生日期。", None
    raw_grade = str(form.get("grade") or "").strip()
    if raw_grade and not raw_grade.isdigit():
        return "分级请从列表中选择。", None
    s = db()
    try:
        result = svc.report(
            s,
            d,
            c.id,
            type_code=str(form.get("type") or ""),
            onset_on=onset,
            grade=int(raw_grade) if raw_grade else None,
            tz=container().settings.timezone,
            actor=_actor(),
            institution_id=current_user.institution_id,
            idempotency_key=f"h5:{form.get('key', '')}" if form.get("key") else None,
            context="h5",
            **{name: form.get(name) for name in TEXT_FIELDS},
        )
        if photos:
            svc.add_photos(
                s,
                result.complication.id,
                photos,
                actor=_actor(),
                media=container().media,
                context="h5",
            )
    except svc.ComplicationRefused as exc:
        uow().rollback()
        log.info("complication report on catheter %s refused: %s", c.id, exc)
        return str(exc) + ("（照片需重新选择）" if photos else ""), None
    uow().commit()
    for outbox_id in result.outbox_ids:
        enqueue_send(container().redis, outbox_id)
    flag = "created" if result.created else "dup"
    target = url_for("clinic.complication", complication_id=result.complication.id)
    return None, redirect(f"{target}?{flag}=1")
