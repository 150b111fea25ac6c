"""The review queue of outside-clinician applications (A2.1, A2.2)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, send_file
from flask_admin import expose
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from bot.adapters.wechat import Senders, WeChatError
from bot.jobs.queues import enqueue_send
from bot.models import OutsideApplication
from bot.models.enums import ApprovalStatus, Channel
from bot.security.masking import mask_phone
from bot.services import applications, notify
from web import container, require_csrf, uow

from .base import SecureModelView, admin_actor

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
