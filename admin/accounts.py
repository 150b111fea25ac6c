"""Patient accounts (A1.1): listed, unbound and — at the person's request — erased (个人信息
保护法: the account's personal data deleted, clinical records kept); every list and details
read is audited."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from bot.models import PatientAccount
from bot.services import account_erasure, audit
from web import require_csrf, uow

from .base import SecureModelView, admin_actor


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
        "erased_at",
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
        "erased_at": "注销时间",
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

    @action("erase", "注销账号（删除个人信息）")
    def erase(self, ids: list[str]) -> Any:
        """The reason is asked on a page of its own before anything is erased."""
        return redirect(self.get_url(".erase_form", ids=",".join(ids)))

    @expose("/erase", methods=["GET", "POST"])
    def erase_form(self) -> Any:
        ids = [int(i) for i in (request.values.get("ids") or "").split(",") if i.isdigit()]
        accounts = list(
            self.session.scalars(select(PatientAccount).where(PatientAccount.id.in_(ids)))
        )
        if request.method == "POST":
            require_csrf()
            reason = (request.form.get("reason") or "").strip()
            if not reason:
                flash("请填写注销原因（如：患者本人来电申请）。", "error")
            else:
                erased = sum(
                    account_erasure.erase(self.session, a, admin_actor(), reason) for a in accounts
                )
                uow().commit()
                skipped = len(accounts) - erased
                flash(
                    f"已注销 {erased} 个账号，个人信息已删除，就诊记录由医院保留"
                    + (f"；{skipped} 个账号此前已注销，未再处理" if skipped else "")
                )
                return redirect(self.get_url(".index_view"))
        return self.render(
            "admin/account_erase.html", accounts=accounts, ids=ids, csrf=generate_csrf()
        )
