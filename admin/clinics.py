"""门诊排班 (P8.1): the maintenance clinics' weekly sessions — from which the slots of the coming
weeks are generated —, closed days, and the coming slots with capacity and booked. A session's
edit reaches its future slots at once (never below what is booked); a session moved or
deactivated takes no new bookings on its old slots (the booked ones stay); a closure is shown
with the bookings it would cancel before it is confirmed, then cancels them and tells each
patient. Administrators only; every change audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_admin import Admin, BaseView, expose
from flask_admin.form import SecureForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, ValidationError

from bot.jobs.queues import enqueue_sends
from bot.models import AppointmentSlot, ClinicClosure, ClinicSession, Institution, utcnow
from bot.services import appointments, audit
from bot.services.appointments import WEEKDAYS as WEEKDAY_NAMES
from web import container, db, require_csrf, uow

from .base import AdminOnly, SecureModelView, admin_actor
from .roster import TIME  # HH:MM, one rule for both schedules

WEEKDAYS = list(enumerate(WEEKDAY_NAMES))
SHOWN_DAYS = appointments.HORIZON_DAYS
MAX_CAPACITY = 500


def institutions() -> list[Institution]:
    return list(
        db().scalars(
            select(Institution)
            .where(Institution.active.is_(True))
            .order_by(Institution.is_home.desc(), Institution.id)
        )
    )


class SessionForm(SecureForm):
    institution_id = SelectField("机构", coerce=int, validate_choice=False)
    service = SelectField("服务", choices=list(appointments.SERVICES.items()))
    weekday = SelectField("星期", coerce=int, choices=WEEKDAYS)
    starts_at = StringField("开始时间", default="08:00", description="24小时制，如 08:00")
    ends_at = StringField("结束时间", default="11:30", description="如 11:30")
    capacity = IntegerField(
        "名额",
        default=8,
        validators=[NumberRange(min=0, max=MAX_CAPACITY, message=f"名额应为0到{MAX_CAPACITY}")],
    )
    active = BooleanField("启用", default=True)

    def validate_institution_id(self, field: Any) -> None:
        if field.data not in {i.id for i in institutions()}:
            raise ValidationError("请选择启用中的机构。")

    def validate_starts_at(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if not TIME.match(field.data):
            raise ValidationError("开始时间格式应为 HH:MM（24小时制），如 08:00。")

    def validate_ends_at(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if not TIME.match(field.data):
            raise ValidationError("结束时间格式应为 HH:MM（24小时制），如 11:30。")
        start = (self.starts_at.data or "").strip()
        if TIME.match(start) and field.data <= start:
            raise ValidationError("结束时间应晚于开始时间。")


def _old_definition(form: Any, model: ClinicSession) -> ClinicSession | None:
    """The session as it was before an edit moved it (institution, service, day or time), as a
    transient row; None when it did not move."""
    keys = ("institution_id", "service", "weekday", "starts_at")
    old = {k: getattr(form, k).object_data for k in keys}
    if all(old[k] == getattr(model, k) for k in keys) or None in old.values():
        return None
    return ClinicSession(**old, ends_at=model.ends_at, capacity=0, active=True)


class ClinicSessionView(SecureModelView):
    """门诊排班: weekly sessions, created, edited and deactivated (“启用” unticked on the edit
    page; never deleted)."""

    form = SessionForm
    column_list = ["institution", "service", "weekday", "hours", "capacity", "active"]
    column_labels = {
        "institution": "机构",
        "service": "服务",
        "weekday": "星期",
        "hours": "时间",
        "capacity": "名额",
        "active": "启用",
    }
    column_formatters = {
        "institution": lambda v, c, m, n: _institution_name(v.session, m.institution_id),
        "service": lambda v, c, m, n: appointments.SERVICES.get(m.service, m.service),
        "weekday": lambda v, c, m, n: dict(WEEKDAYS)[m.weekday],
        "hours": lambda v, c, m, n: f"{m.starts_at}–{m.ends_at}",
    }
    column_details_list = column_list
    column_filters = ["active"]
    column_default_sort = [("institution_id", False), ("weekday", False), ("starts_at", False)]

    def _with_choices(self, form: Any) -> Any:
        form.institution_id.choices = [(i.id, i.name) for i in institutions()]
        return form

    def create_form(self, obj: Any = None) -> Any:
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj: Any = None) -> Any:
        return self._with_choices(super().edit_form(obj))

    def on_model_change(self, form: Any, model: ClinicSession, is_created: bool) -> None:
        g.clinic_session_moved = None if is_created else _old_definition(form, model)

    def after_model_change(self, form: Any, model: ClinicSession, is_created: bool) -> None:
        tz, now = container().settings.timezone, utcnow()
        moved = g.pop("clinic_session_moved", None)
        if moved is not None:
            appointments.retire_session(self.session, moved, tz, now)
        changed = appointments.apply_session(self.session, model, tz, now)
        audit.record(
            self.session,
            admin_actor(),
            "create" if is_created else "update",
            "clinic_session",
            model.id,
            context="admin",
            detail={
                "institution_id": model.institution_id,
                "service": model.service,
                "weekday": model.weekday,
                "hours": f"{model.starts_at}-{model.ends_at}",
                "capacity": model.capacity,
                "active": model.active,
                "slots_changed": changed,
            },
        )
        uow().commit()


def _institution_name(session: Session, institution_id: int) -> str:
    place = session.get(Institution, institution_id)
    return place.name if place else str(institution_id)


class ClinicCalendarView(AdminOnly, BaseView):
    """停诊与号源: one institution's closed days (added after seeing what they cancel) and the
    coming slots, whose capacity is edited here (never below booked)."""

    def _place(self) -> Institution | None:
        places = institutions()
        wanted = request.values.get("institution", type=int)
        return next((p for p in places if p.id == wanted), places[0] if places else None)

    @expose("/")
    def index(self) -> Any:
        place = self._place()
        tz, now = container().settings.timezone, utcnow()
        today = now.astimezone(tz).date()
        slots = closures = []
        if place is not None:
            slots = list(
                db().scalars(
                    select(AppointmentSlot)
                    .where(
                        AppointmentSlot.institution_id == place.id,
                        AppointmentSlot.starts_at > now,
                        AppointmentSlot.starts_at < now + timedelta(days=SHOWN_DAYS + 1),
                    )
                    .order_by(AppointmentSlot.starts_at, AppointmentSlot.service)
                )
            )
            closures = list(
                db().scalars(
                    select(ClinicClosure)
                    .where(ClinicClosure.institution_id == place.id, ClinicClosure.day >= today)
                    .order_by(ClinicClosure.day)
                )
            )
        return self.render(
            "admin/clinic_calendar.html",
            places=institutions(),
            place=place,
            slots=slots,
            closures=closures,
            services=appointments.SERVICES,
            weekdays=dict(WEEKDAYS),
            tz=tz,
            today=today,
            csrf=generate_csrf(),
        )

    def _back(self, place_id: int | None) -> Any:
        return redirect(url_for(".index", institution=place_id))

    @expose("/slots/<int:slot_id>/capacity", methods=["POST"])
    def capacity(self, slot_id: int) -> Any:
        require_csrf()
        raw = request.form.get("capacity", "").strip()
        place = request.form.get("institution", type=int)
        if not raw.isdigit() or int(raw) > MAX_CAPACITY:
            flash(f"名额应为0到{MAX_CAPACITY}的整数。", "error")
            return self._back(place)
        try:
            slot = appointments.set_capacity(db(), slot_id, int(raw))
        except appointments.Refused as exc:
            uow().rollback()
            flash(str(exc), "error")
            return self._back(place)
        audit.record(
            db(),
            admin_actor(),
            "update",
            "appointment_slot",
            slot.id,
            context="admin",
            detail={"capacity": slot.capacity},
        )
        uow().commit()
        flash("名额已更新。")
        return self._back(slot.institution_id)

    @expose("/closures", methods=["POST"])
    def close(self) -> Any:
        """First post: what the closure would cancel, to confirm; with ``confirm``: done."""
        require_csrf()
        place = self._place()
        tz, now = container().settings.timezone, utcnow()
        reason = request.form.get("reason", "").strip()
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            flash("请选择停诊日期。", "error")
            return self._back(place.id if place else None)
        if place is None:
            return self._back(None)
        if request.form.get("confirm") != "yes":
            return self.render(
                "admin/clinic_closure_confirm.html",
                place=place,
                day=day,
                reason=reason,
                cancels=appointments.closure_preview(db(), place.id, day, tz, now),
                today=day == now.astimezone(tz).date(),
                csrf=generate_csrf(),
            )
        try:
            _, outbox = appointments.close_day(
                db(),
                place.id,
                day,
                reason,
                actor=admin_actor(),
                tz=tz,
                now=now,
                base_url=container().settings.public_base_url,
            )
        except appointments.Refused as exc:
            uow().rollback()
            flash(str(exc), "error")
            return self._back(place.id)
        uow().commit()
        enqueue_sends(container().redis, outbox)
        flash(f"已设置{day:%m月%d日}停诊，已取消并通知相关预约。")
        return self._back(place.id)

    @expose("/closures/<int:closure_id>/withdraw", methods=["POST"])
    def withdraw(self, closure_id: int) -> Any:
        """撤销停诊: the day's slots open again; cancelled bookings stay cancelled."""
        require_csrf()
        place = request.form.get("institution", type=int)
        try:
            closure = appointments.reopen_day(
                db(),
                closure_id,
                actor=admin_actor(),
                tz=container().settings.timezone,
                now=utcnow(),
            )
        except appointments.Refused as exc:
            uow().rollback()
            flash(str(exc), "error")
            return self._back(place)
        uow().commit()
        flash(f"已撤销{closure.day:%m月%d日}的停诊，当天号源已重新开放；已取消的预约不会恢复。")
        return self._back(closure.institution_id)


def add_views(admin: Admin, sessions: Any) -> None:
    """门诊排班 and 停诊与号源, under 门诊预约."""
    admin.add_view(
        ClinicSessionView(
            ClinicSession,
            sessions,
            name="门诊排班",
            endpoint="clinic_sessions",
            category="门诊预约",
        )
    )
    admin.add_view(
        ClinicCalendarView(
            name="停诊与号源",
            endpoint="clinic_calendar",
            url="clinic-calendar",
            category="门诊预约",
        )
    )
