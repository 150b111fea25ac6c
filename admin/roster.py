"""The consultation roster (会诊排班, C5.1) and the list of every consultation, for
administrators. A duty row names a home-hospital nurse or doctor, the weekdays (none ticked =
every day) and the hours; rows are deactivated, never deleted, so past rosters stay readable."""

from __future__ import annotations

import re
from typing import Any

from flask import flash
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.form import SecureForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import Length, Optional, ValidationError

from bot.models import ConsultantDuty, Institution, Staff
from bot.models.enums import StaffRole
from bot.services import audit
from bot.services.consultations import views as consultation_views
from web import container, db, uow

from .base import AdminOnly, SecureModelView, admin_actor

WEEKDAYS = [
    (1, "周一"),
    (2, "周二"),
    (3, "周三"),
    (4, "周四"),
    (5, "周五"),
    (6, "周六"),
    (7, "周日"),
]
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
END_OF_DAY = "24:00"


def weekdays_label(days: list[Any] | None) -> str:
    """周一、周三 — or 每天 when none is ticked (or all are)."""
    chosen = sorted({int(d) for d in days or []})
    if not chosen or len(chosen) == 7:
        return "每天"
    names = dict(WEEKDAYS)
    return "、".join(names[d] for d in chosen if d in names)


def home_clinicians() -> list[Staff]:
    """Who may be on the roster: active nurses and doctors of the home hospital, by name."""
    return list(
        db().scalars(
            select(Staff)
            .join(Institution, Institution.id == Staff.institution_id)
            .where(
                Institution.is_home.is_(True),
                Staff.active.is_(True),
                Staff.role.in_([StaffRole.NURSE, StaffRole.DOCTOR]),
            )
            .order_by(Staff.name, Staff.id)
        )
    )


class Checkboxes(SelectMultipleField):
    """Weekdays as a row of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class DutyForm(SecureForm):
    staff_id = SelectField("会诊专家", coerce=int, validate_choice=False)
    weekdays = Checkboxes(
        "星期（不选 = 每天）", choices=WEEKDAYS, coerce=int, validate_choice=False
    )
    starts_at = StringField("开始时间", default="08:00", description="24小时制，如 08:00")
    ends_at = StringField("结束时间", default="17:30", description="如 17:30；到当天结束填 24:00")
    note = StringField("备注", validators=[Optional(), Length(max=120, message="备注最多120字")])
    active = BooleanField("启用", default=True)

    def validate_staff_id(self, field: Any) -> None:
        if field.data not in {s.id for s in home_clinicians()}:
            raise ValidationError("请选择本院在职的护士或医生。")

    def validate_weekdays(self, field: Any) -> None:
        if any(d not in dict(WEEKDAYS) for d in field.data or []):
            raise ValidationError("星期只能选周一至周日。")

    def validate_starts_at(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if not TIME.match(field.data):
            raise ValidationError("开始时间格式应为 HH:MM（24小时制），如 08:00。")

    def validate_ends_at(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if field.data != END_OF_DAY and not TIME.match(field.data):
            raise ValidationError("结束时间格式应为 HH:MM（24小时制），如 17:30，或 24:00。")
        start = (self.starts_at.data or "").strip()
        if TIME.match(start) and field.data <= start:
            raise ValidationError(
                "结束时间应晚于开始时间。跨夜值班请分两条登记，如 20:00–24:00 和 00:00–08:00。"
            )


class RosterView(SecureModelView):
    """会诊排班: list, create, edit, deactivate."""

    form = DutyForm
    column_list = ["staff", "weekdays", "hours", "note", "active"]
    column_labels = {
        "staff": "会诊专家",
        "weekdays": "星期",
        "hours": "时间",
        "note": "备注",
        "active": "启用",
    }
    column_formatters = {
        "staff": lambda v, c, m, n: f"{m.staff.name}（{m.staff.staff_no}）",
        "weekdays": lambda v, c, m, n: weekdays_label(m.weekdays),
        "hours": lambda v, c, m, n: f"{m.starts_at}–{m.ends_at}",
    }
    column_details_list = column_list
    column_filters = ["active"]
    column_default_sort = ("id", False)

    def _with_choices(self, form: Any) -> Any:
        form.staff_id.choices = [
            (s.id, f"{s.name}（{s.staff_no}{'，' + s.title if s.title else ''}）")
            for s in home_clinicians()
        ]
        return form

    def create_form(self, obj: Any = None) -> Any:
        return self._with_choices(super().create_form(obj))

    def edit_form(self, obj: Any = None) -> Any:
        return self._with_choices(super().edit_form(obj))

    def on_model_change(self, form: Any, model: ConsultantDuty, is_created: bool) -> None:
        model.weekdays = sorted({int(d) for d in form.weekdays.data or []})

    def after_model_change(self, form: Any, model: ConsultantDuty, is_created: bool) -> None:
        audit.record(
            self.session,
            admin_actor(),
            "create" if is_created else "update",
            "consultant_duty",
            model.id,
            context="admin",
            detail={
                "staff_id": model.staff_id,
                "weekdays": model.weekdays,
                "hours": f"{model.starts_at}-{model.ends_at}",
                "active": model.active,
            },
        )
        uow().commit()

    @action("deactivate", "停用", "确定停用所选排班吗？")
    def deactivate(self, ids: list[str]) -> None:
        self._set_active(ids, False)
        flash(f"已停用 {len(ids)} 条排班")

    @action("activate", "启用", "确定启用所选排班吗？")
    def activate(self, ids: list[str]) -> None:
        self._set_active(ids, True)
        flash(f"已启用 {len(ids)} 条排班")

    def _set_active(self, ids: list[str], active: bool) -> None:
        rows = self.session.scalars(
            select(ConsultantDuty).where(ConsultantDuty.id.in_([int(i) for i in ids]))
        )
        for duty in rows:
            duty.active = active
            audit.record(
                self.session,
                admin_actor(),
                "activate" if active else "deactivate",
                "consultant_duty",
                duty.id,
                context="admin",
            )
        uow().commit()


class ConsultationListView(AdminOnly, BaseView):
    """会诊: every consultation with its status and chat failure, linking to the case page;
    the list is audited with the patients it shows."""

    @expose("/")
    def index(self) -> Any:
        s = db()
        lines = consultation_views.every(s, admin_actor(), limit=500)
        ids = {line.consultation.requested_by_id for line in lines}
        names = {st.id: st.name for st in s.scalars(select(Staff).where(Staff.id.in_(ids)))}
        uow().commit()
        tz = container().settings.timezone
        return self.render(
            "admin/consultations.html",
            lines=lines,
            names=names,
            when=lambda moment: moment.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        )
