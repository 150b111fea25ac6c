"""Patient accounts (A1.1): listed and unbound; every list and details read is audited."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from sqlalchemy import select

from bot.models import PatientAccount
from bot.services import audit
from web import uow

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
