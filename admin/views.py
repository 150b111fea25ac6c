"""The admin web (A1, A2 …): only administrators; every view in Chinese.

Staff accounts are never deleted — a clinician's name stays on the records they signed — they
are deactivated, which ends their sign-in at once.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, flash, redirect, request, send_file, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import SecureForm
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import Optional, Regexp

from bot.adapters.wechat import Senders, WeChatError
from bot.jobs.queues import enqueue_send
from bot.models import OutsideApplication, PatientAccount, Staff
from bot.models.enums import ActorType, ApprovalStatus, Channel, StaffRole
from bot.security.masking import mask_phone
from bot.services import applications, audit, auth, notify
from web import container, require_csrf, uow

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
        "active",
    ]
    form_extra_fields = {
        "mobile": StringField(
            "手机号", validators=[Optional(), Regexp(r"^1[3-9]\d{9}$", message="请输入11位手机号")]
        ),
    }
    form_choices = {"role": [(r.value, ROLE_LABELS[r]) for r in StaffRole]}

    def on_model_change(self, form: Any, model: Staff, is_created: bool) -> None:
        cipher = container().cipher
        if form.mobile.data:
            model.phone_enc = cipher.encrypt(form.mobile.data, context="staff.phone")
            model.phone_index = cipher.blind_index(form.mobile.data, kind="phone")
        if is_created:
            self._temporary = auth.reset_password(self.session, model, admin_actor())

    def after_model_change(self, form: Any, model: Staff, is_created: bool) -> None:
        audit.record(
            self.session, admin_actor(), "create" if is_created else "update", "staff", model.id
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


def init_admin(app: Flask) -> None:
    admin = Admin(
        app,
        name="静脉通路管理后台",
        url="/admin",
        index_view=Home(name="首页"),
        theme=Bootstrap4Theme(base_template="admin/base.html"),
    )
    admin.add_view(
        StaffView(Staff, container(app).request_sessions, name="医护账号", endpoint="staff")
    )
    admin.add_view(
        ApplicationView(
            OutsideApplication,
            container(app).request_sessions,
            name="外院注册审核",
            endpoint="applications",
        )
    )
    admin.add_view(
        PatientAccountView(
            PatientAccount, container(app).request_sessions, name="患者账号", endpoint="accounts"
        )
    )


STATUS_TABS = [(s, applications.STATUS_LABELS[s]) for s in ApprovalStatus]


class ApplicationView(SecureModelView):
    """The review queue of outside-clinician applications (A2.1, A2.2)."""

    can_create = False
    can_edit = False
    list_template = "admin/applications_list.html"
    details_template = "admin/application_details.html"
    column_list = [
        "id",
        "name",
        "institution_name",
        "department_name",
        "title",
        "phone",
        "licence_no",
        "status",
        "created_at",
    ]
    column_labels = {
        "id": "编号",
        "name": "姓名",
        "institution_name": "医院",
        "department_name": "科室",
        "title": "职称",
        "phone": "手机号",
        "licence_no": "执业证书编号",
        "status": "状态",
        "created_at": "提交时间",
        "reason": "未通过原因",
        "reviewed_at": "审核时间",
    }
    column_formatters = {
        "phone": lambda v, c, m, n: _masked_application_phone(m),
        "status": lambda v, c, m, n: applications.STATUS_LABELS[m.status],
    }
    column_default_sort = ("created_at", True)

    def _status(self) -> ApprovalStatus:
        try:
            return ApprovalStatus(request.args.get("status", "pending"))
        except ValueError:
            return ApprovalStatus.PENDING

    def get_query(self):
        return super().get_query().filter(OutsideApplication.status == self._status())

    def get_count_query(self):
        return super().get_count_query().filter(OutsideApplication.status == self._status())

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("status_tabs", STATUS_TABS)
        kwargs.setdefault("current_status", self._status())
        kwargs.setdefault("csrf_token", generate_csrf)
        return super().render(template, **kwargs)

    @expose("/badge/<int:application_id>")
    def badge(self, application_id: int):
        application = self.session.get(OutsideApplication, application_id)
        if application is None or not application.badge_photo_path:
            abort(404)
        return send_file(application.badge_photo_path, max_age=0)

    @expose("/approve/<int:application_id>", methods=["POST"])
    def approve(self, application_id: int):
        c = container()
        require_csrf()
        try:
            approved = applications.approve(self.session, c.cipher, application_id, admin_actor())
        except applications.ReviewRefused as exc:
            uow().rollback()
            flash(str(exc), "error")
            return redirect(self.get_url(".details_view", id=application_id))
        staff = approved.staff
        phone = c.cipher.decrypt(staff.phone_enc, context="staff.phone") or ""
        outbox: list[int] = []
        if c.settings.sms_provider:
            outbox.append(
                notify.sms(
                    self.session,
                    c.cipher,
                    phone,
                    "application_approved",
                    [staff.name],
                    key=f"application:{application_id}:approved:sms",
                )
            )
        directory_note = ""
        department = c.settings.wecom_outside_department_id
        if department is not None:
            userid = staff.wecom_userid or f"ext{staff.id:05d}"
            try:
                senders().create_member(userid, staff.name, phone, department)
            except WeChatError as exc:
                directory_note = (
                    f"；企业微信通讯录添加失败（{exc.reason}），请稍后在企业微信管理后台添加"
                )
            else:
                staff.wecom_userid = userid
                outbox.append(
                    notify.text(
                        self.session,
                        Channel.WORK,
                        userid,
                        f"{staff.name}您好，您的外院医护注册申请已通过。请使用手机号登录，初始密码由管理员电话告知，首次登录须修改。",
                        key=f"application:{application_id}:approved",
                    )
                )
        uow().commit()
        _deliver(outbox)
        flash(
            Markup(
                "已通过 {} 的申请，账号工号 {}，"
                "初始密码：<code>{}</code>（请电话告知，首次登录须修改）{}"
            ).format(staff.name, staff.staff_no, approved.temporary_password, directory_note)
        )
        return redirect(self.get_url(".index_view", status="approved"))

    @expose("/reject/<int:application_id>", methods=["POST"])
    def reject(self, application_id: int):
        require_csrf()
        try:
            application = applications.reject(
                self.session, application_id, request.form.get("reason", ""), admin_actor()
            )
        except applications.ReviewRefused as exc:
            uow().rollback()
            flash(str(exc), "error")
            return redirect(self.get_url(".details_view", id=application_id))
        c = container()
        outbox = []
        if c.settings.sms_provider:
            phone = (
                c.cipher.decrypt(application.phone_enc, context="outside_application.phone") or ""
            )
            outbox.append(
                notify.sms(
                    self.session,
                    c.cipher,
                    phone,
                    "application_rejected",
                    [application.name, application.reason or ""],
                    key=f"application:{application_id}:rejected:sms",
                )
            )
        if application.wecom_userid:
            outbox.append(
                notify.text(
                    self.session,
                    Channel.WORK,
                    application.wecom_userid,
                    f"您的外院医护注册申请未通过，原因：{application.reason}。可修改后重新申请。",
                    key=f"application:{application_id}:rejected",
                )
            )
        uow().commit()
        _deliver(outbox)
        flash(f"已驳回 {application.name} 的申请")
        return redirect(self.get_url(".index_view", status="rejected"))


def _masked_application_phone(model: OutsideApplication) -> str:
    return mask_phone(
        container().cipher.decrypt(model.phone_enc, context="outside_application.phone")
    )


def senders() -> Senders:
    return container().senders


def _deliver(outbox_ids: list[int]) -> None:
    for outbox_id in outbox_ids:
        enqueue_send(container().redis, outbox_id)


class PatientAccountView(SecureModelView):
    """Official-account followers and their binding (A1.1): see, unbind. Patients' clinical
    records are not shown here."""

    can_create = False
    can_edit = False
    column_list = [
        "id",
        "openid",
        "nickname",
        "subscribed",
        "ih_user_id",
        "bound_at",
        "profiles",
        "last_inbound_at",
    ]
    column_labels = {
        "id": "编号",
        "openid": "OpenID",
        "nickname": "昵称",
        "subscribed": "关注中",
        "ih_user_id": "互联网医院账号",
        "bound_at": "绑定时间",
        "profiles": "就诊人数",
        "last_inbound_at": "最近消息",
    }
    column_formatters = {
        "openid": lambda v, c, m, n: (
            m.openid[:6] + "…" + m.openid[-4:] if len(m.openid) > 12 else m.openid
        ),
        "profiles": lambda v, c, m, n: len(m.profiles),
    }
    column_searchable_list = ["ih_user_id"]
    column_details_list = column_list

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        audit.record(
            self.session, admin_actor(), "read", "patient_account_list", None, context="admin"
        )
        uow().commit()
        return super().get_list(*args, **kwargs)

    def get_one(self, id: Any) -> Any:
        """An account's details (the details and edit views) are a read of personal data."""
        audit.record(self.session, admin_actor(), "read", "patient_account", id, context="admin")
        uow().commit()
        return super().get_one(id)

    @action("unbind", "解除绑定", "确定解除所选账号与互联网医院、就诊人的绑定吗？")
    def unbind(self, ids: list[str]) -> None:
        from bot.services import binding

        for account in self.session.scalars(
            select(PatientAccount).where(PatientAccount.id.in_([int(i) for i in ids]))
        ):
            binding.unbind(self.session, account)
        uow().commit()
        flash(f"已解除 {len(ids)} 个账号的绑定")
