"""What every admin view shares: administrators only, SecureForm's CSRF, no deletes, the
administrator as an audit actor."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_admin.helpers import is_form_submitted
from flask_login import current_user

from bot.models.enums import ActorType, StaffRole
from bot.services import audit

ROLE_LABELS = {
    StaffRole.NURSE: "护士",
    StaffRole.DOCTOR: "医生",
    StaffRole.OUTSIDE_CLINICIAN: "外院医护",
    StaffRole.ADMIN: "管理员",
}


def admin_actor() -> audit.Actor:
    return audit.Actor(ActorType.STAFF, current_user.id, request.remote_addr)


class AdminOnly:
    """Administrators only; others are sent to sign in, or refused."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and current_user.role is StaffRole.ADMIN)

    def inaccessible_callback(self, name: str, **kwargs: Any):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class Home(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/index.html")


class SecureModelView(AdminOnly, ModelView):
    form_base_class = SecureForm
    page_size = 50
    can_view_details = True
    can_delete = False

    def validate_form(self, form: Any) -> bool:
        ok = bool(super().validate_form(form))
        token = getattr(form, "csrf_token", None)
        if not ok and is_form_submitted() and token is not None and token.errors:
            flash("页面已过期，未保存：请刷新页面，重新填写后再保存。", "danger")
        return ok
