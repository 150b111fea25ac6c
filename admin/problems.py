"""Messages the service could not handle properly (issue 12 §8): a turn that answered with
an apology (an action broke), a turn given up on, one still waiting out an outage. What the
person wrote is not shown — it may be clinical; the error and the state are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from bot.models import InboxMessage
from bot.models.enums import InboxStatus

from .base import SecureModelView

STATUS_LABELS = {
    InboxStatus.PENDING: "等待重试",
    InboxStatus.PROCESSING: "处理中",
    InboxStatus.DONE: "已答复（致歉）",
    InboxStatus.FAILED: "已放弃（已致歉）",
}


def _masked_sender(view: Any, context: Any, model: InboxMessage, name: str) -> str:
    sender = model.sender
    return sender[:4] + "…" + sender[-4:] if len(sender) > 10 else sender


class ProblemMessageView(SecureModelView):
    can_create = False
    can_edit = False
    column_list = [
        "id",
        "received_at",
        "channel",
        "sender",
        "msg_type",
        "status",
        "attempts",
        "last_error",
    ]
    column_details_list = column_list
    column_default_sort = ("id", True)
    column_filters = ["status", "channel"]
    column_labels = {
        "id": "编号",
        "received_at": "收到时间",
        "channel": "渠道",
        "sender": "发送者",
        "msg_type": "类型",
        "status": "状态",
        "attempts": "尝试次数",
        "last_error": "错误",
    }
    column_formatters = {
        "sender": _masked_sender,
        "status": lambda v, c, m, n: STATUS_LABELS[m.status],
        "channel": lambda v, c, m, n: "公众号" if m.channel.value == "mp" else "企业微信",
    }

    def get_query(self) -> Any:
        return super().get_query().filter(InboxMessage.last_error.is_not(None))

    def get_count_query(self) -> Any:
        return (
            self.session.query(func.count(InboxMessage.id))
            .select_from(InboxMessage)
            .filter(InboxMessage.last_error.is_not(None))
        )
