"""Patient appointment pages (P8.1): 我的预约 — the account's upcoming bookings (every 就诊人)
with cancel and change, past ones below — and booking for the active 就诊人: institution, day,
then a slot with its remaining places. Routes of the patient blueprint; a booking of another
account is "not found", a refusal is said on the page and changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from bot.models import Institution, PatientAccount, PatientProfile, utcnow
from bot.models.enums import ActorType
from bot.services import appointments, audit
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


def _picker(title: str, action: str, patient_name: str) -> Any:
    """Institution → day → slot, each step from the query string (``institution``, ``day``);
    the slot is posted to ``action``."""
    s = db()
    rt = container()
    tz, now = rt.settings.timezone, utcnow()
    places = appointments.bookable_institutions(s, now)
    place = _chosen_place(places)
    days = appointments.open_days(s, place.id, tz, now) if place else []
    day = _chosen_day(days)
    slots = appointments.open_slots(s, place.id, day, tz, now) if place and day else []
    return render_template(
        "h5/appointment_pick.html",
        title=title,
        action=action,
        patient_name=patient_name,
        places=places,
        place=place,
        days=days,
        day=day,
        slots=slots,
        services=appointments.SERVICES,
        tz=tz,
        csrf=generate_csrf(),
    )


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
        return _picker("预约导管维护", request.full_path, profile.patient.name)
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
        return _picker(title, request.full_path, booking.patient_name)
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
