"""Patient appointment pages (P8.1): 我的预约 — the account's upcoming bookings (every 就诊人)
with cancel and change, past ones below — and booking for the active 就诊人: the service (the
maintenance of the catheter in place first), institution, day, then a slot with its remaining
places. Routes of the patient blueprint; a booking of another account is "not found", a
refusal is said on the page and changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from bot.models import Institution, PatientAccount, PatientProfile, utcnow
from bot.models.enums import ActorType
from bot.services import appointments, audit
from bot.services.directory import DEVICE_LABELS, SERVICE_LABELS
from web import container, db, require_csrf, uow

from .patient import _account, _problem, agreements_accepted, bp, follower_required


def _actor(account: PatientAccount) -> audit.Actor:
    return audit.Actor(ActorType.PATIENT, account.id, request.remote_addr)


def _me() -> PatientAccount:
    account = _account()
    assert account is not None  # follower_required
    return account


@bp.get("/appointments")
@follower_required
@agreements_accepted
def appointments_page() -> Any:
    account = _me()
    s = db()
    patients = appointments.account_patients(s, account.id)
    now = utcnow()
    return render_template(
        "h5/appointments.html",
        upcoming=appointments.bookings(s, patients, now),
        past=appointments.bookings(s, patients, now, upcoming=False, limit=10),
        tz=container().settings.timezone,
        has_patient=bool(patients),
        csrf=generate_csrf(),
    )


@bp.post("/appointments/<int:appointment_id>/cancel")
@follower_required
@agreements_accepted
def cancel_appointment(appointment_id: int) -> Response:
    require_csrf()
    account = _me()
    try:
        appointments.cancel(
            db(),
            appointment_id,
            account_id=account.id,
            actor=_actor(account),
            now=utcnow(),
            context="h5",
        )
    except appointments.Refused as exc:
        uow().rollback()
        flash(f"未能取消：{exc}", "error")
    else:
        uow().commit()
        flash("预约已取消，名额已释放。", "ok")
    return redirect(url_for("patient.appointments_page"))


def _picker(
    title: str, action: str, patient_id: int, patient_name: str, usual: str | None = None
) -> Any:
    """Service → institution → day → slot, each step from the query string (``service``,
    ``institution``, ``day``); the slot is posted to ``action``. The services that fit the
    patient's catheters come first, the first preselected (or ``usual``, a changed booking's
    service); the others that may be booked sit behind 其他服务. Without a fitting service
    (no catheter in place here, or only a CVC or midline) every bookable service is listed
    and, until one is chosen, the slots of all of them."""
    s = db()
    rt = container()
    tz, now = rt.settings.timezone, utcnow()
    fit = appointments.fit_for(s, patient_id)
    offered = fit.offered(appointments.bookable_services(s, now))
    service = _chosen_service(offered, usual if usual in offered else None, fit.fitting)
    wanted = [service] if service else offered
    places = appointments.bookable_institutions(s, now, wanted)
    place = _chosen_place(places)
    days = appointments.open_days(s, place.id, tz, now, wanted) if place else []
    day = _chosen_day(days)
    slots = appointments.open_slots(s, place.id, day, tz, now, wanted) if place and day else []
    fitting = list(fit.fitting)
    return render_template(
        "h5/appointment_pick.html",
        title=title,
        action=action,
        patient_name=patient_name,
        main=fitting or offered,
        others=[c for c in offered if c not in fitting] if fitting else [],
        unmatched=[DEVICE_LABELS.get(d, d) for d in fit.devices] if not fitting else [],
        service=service,
        query=lambda **params: _query(service, **params),
        places=places,
        place=place,
        days=days,
        day=day,
        slots=slots,
        services=SERVICE_LABELS,
        tz=tz,
        csrf=generate_csrf(),
    )


def _chosen_service(offered: list[str], usual: str | None, fitting: tuple[str, ...]) -> str | None:
    """The service asked for if offered, else ``usual``, else the first fitting one (None:
    all offered services)."""
    wanted = request.args.get("service")
    if wanted in offered:
        return wanted
    return usual or (fitting[0] if fitting else None)


def _query(chosen: str | None, **params: object) -> str:
    """The picker's query string keeping the chosen service unless ``params`` name one."""
    return urlencode({"service": chosen, **params} if chosen else params)


def _chosen_place(places: list[Institution]) -> Institution | None:
    wanted = request.args.get("institution", type=int)
    if len(places) == 1 and wanted is None:
        return places[0]
    return next((p for p in places if p.id == wanted), None)


def _chosen_day(days: list[date]) -> date | None:
    try:
        wanted = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return None
    return wanted if wanted in days else None


def _slot_id() -> int | None:
    raw = request.form.get("slot_id", "")
    return int(raw) if raw.isdigit() else None


@bp.route("/appointments/new", methods=["GET", "POST"])
@follower_required
@agreements_accepted
def new_appointment() -> Any:
    account = _me()
    profile = db().get(PatientProfile, account.active_profile_id or 0)
    if profile is None or profile.account_id != account.id:
        return _problem("请先绑定就诊人", "预约前请先在首页绑定就诊人。", 200)
    if request.method == "GET":
        return _picker("预约导管维护", request.full_path, profile.patient_id, profile.patient.name)
    require_csrf()
    slot_id = _slot_id()
    if slot_id is None:
        flash("请选择一个时段。", "error")
        return redirect(request.full_path)
    try:
        result = appointments.book(
            db(),
            slot_id,
            patient_id=profile.patient_id,
            account_id=account.id,
            actor=_actor(account),
            context="h5",
        )
    except appointments.Refused as exc:
        uow().rollback()
        flash(f"预约未成功：{exc}", "error")
        return redirect(request.full_path)
    uow().commit()
    flash("预约成功。" if result.created else "您已预约过该时段。", "ok")
    return redirect(url_for("patient.appointments_page"))


@bp.route("/appointments/<int:appointment_id>/change", methods=["GET", "POST"])
@follower_required
@agreements_accepted
def change_appointment(appointment_id: int) -> Any:
    account = _me()
    now = utcnow()
    mine = {b.id: b for b in appointments.upcoming(db(), account.id, now)}
    booking = mine.get(appointment_id)
    if booking is None:
        flash("没有找到可改约的预约（可能已取消或已过预约时间）。", "error")
        return redirect(url_for("patient.appointments_page"))
    if request.method == "GET":
        tz = container().settings.timezone
        title = f"改约：原{booking.institution} {booking.when(tz)}"
        return _picker(
            title, request.full_path, booking.patient_id, booking.patient_name, booking.service
        )
    require_csrf()
    slot_id = _slot_id()
    if slot_id is None:
        flash("请选择一个时段。", "error")
        return redirect(request.full_path)
    try:
        appointments.change(
            db(), appointment_id, slot_id, account_id=account.id, actor=_actor(account), now=now
        )
    except appointments.Refused as exc:
        uow().rollback()
        flash(f"改约未成功：{exc}原预约保持不变。", "error")
        return redirect(request.full_path)
    uow().commit()
    flash("改约成功，原时段已释放。", "ok")
    return redirect(url_for("patient.appointments_page"))
