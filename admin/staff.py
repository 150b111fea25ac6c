"""Staff accounts (A1.1): created with a temporary password, edited, deactivated — never
deleted, since a clinician's name stays on the records they signed."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from markupsafe import Markup
from sqlalchemy import select
from wtforms import StringField, ValidationError
from wtforms.validators import Optional, Regexp

from bot.models import Staff
from bot.models.enums import StaffRole
from bot.security.masking import mask_phone
from bot.services import audit, auth
from web import container, uow

from .base import ROLE_LABELS, SecureModelView, admin_actor


def _phone(view: Any, context: Any, model: Any, name: str) -> str:
    return mask_phone(container().cipher.decrypt(model.phone_enc, context="staff.phone"))


class StaffView(SecureModelView):
    column_list = [
        "name",
        "staff_no",
        "role",
        "institution",
        "department",
        "title",
        "phone",
        "active",
        "locked_until",
        "last_login_at",
    ]
    column_labels = {
        "name": "姓名",
        "staff_no": "工号",
        "role": "角色",
        "institution": "机构",
        "department": "科室",
        "title": "职称",
        "phone": "手机号",
        "active": "启用",
        "locked_until": "锁定至",
        "last_login_at": "最近登录",
        "wecom_userid": "企业微信账号",
        "is_vascular_expert": "静疗专家",
        "may_export_identifiers": "可导出完整身份信息",
    }
    column_searchable_list = ["name", "staff_no"]
    column_filters = ["role", "active"]
    column_formatters = {"phone": _phone, "role": lambda v, c, m, n: ROLE_LABELS[m.role]}
    column_details_list = column_list
    form_columns = [
        "name",
        "staff_no",
        "role",
        "institution",
        "department",
        "title",
        "mobile",
        "is_vascular_expert",
        "wecom_userid",
        "may_export_identifiers",
        "active",
    ]
    form_extra_fields = {
        "mobile": StringField(
            "手机号", validators=[Optional(), Regexp(r"^1[3-9]\d{9}$", message="请输入11位手机号")]
        ),
    }
    form_choices = {"role": [(r.value, ROLE_LABELS[r]) for r in StaffRole]}

    def on_model_change(self, form: Any, model: Staff, is_created: bool) -> None:
        if model.may_export_identifiers and StaffRole(model.role) is not StaffRole.ADMIN:
            raise ValidationError("只有管理员可以开通“可导出完整身份信息”（A6.2）")
        cipher = container().cipher
        if form.mobile.data:
            model.phone_enc = cipher.encrypt(form.mobile.data, context="staff.phone")
            model.phone_index = cipher.blind_index(form.mobile.data, kind="phone")
        if is_created:
            self._temporary = auth.reset_password(self.session, model, admin_actor())

    def after_model_change(self, form: Any, model: Staff, is_created: bool) -> None:
        audit.record(
            self.session,
            admin_actor(),
            "create" if is_created else "update",
            "staff",
            model.id,
            detail={"may_export_identifiers": model.may_export_identifiers},
        )
        uow().commit()
        if is_created:
            flash(
                f"已创建账号 {model.name}（工号 {model.staff_no}），"
                f"初始密码：{self._temporary}，首次登录须修改。"
            )

    @action("reset_password", "重置密码", "确定为所选人员重置密码吗？")
    def reset(self, ids: list[str]) -> None:
        for staff in self.session.scalars(select(Staff).where(Staff.id.in_([int(i) for i in ids]))):
            password = auth.reset_password(self.session, staff, admin_actor())
            flash(
                Markup("{}（工号 {}）的临时密码：<code>{}</code>，下次登录须修改。").format(
                    staff.name, staff.staff_no, password
                )
            )
        uow().commit()
