"""The admin web (A1, A2 …): only administrators; every view in Chinese.

Staff accounts are never deleted — a clinician's name stays on the records they signed — they
are deactivated, which ends their sign-in at once.
"""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from bot.models import (
    ConsultantDuty,
    InboxMessage,
    Institution,
    OutsideApplication,
    PatientAccount,
    Staff,
)
from web import container

from . import clinics
from .accounts import PatientAccountView
from .agreements import AgreementView
from .applications import ApplicationView
from .articles import ArticleView
from .base import Home
from .board import BoardView
from .institutions import InstitutionView
from .patients import PatientRecordView
from .problems import ProblemMessageView
from .roster import ConsultationListView, RosterView
from .staff import StaffView
from .trace import TraceView


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
    admin.add_view(PatientRecordView(name="患者档案", endpoint="patients", url="patients"))
    admin.add_view(
        AgreementView(name="服务协议与隐私政策", endpoint="agreements", url="agreements")
    )
    admin.add_view(ArticleView(name="科普宣教", endpoint="articles", url="articles"))
    admin.add_view(
        InstitutionView(
            Institution,
            container(app).request_sessions,
            name="医疗机构",
            endpoint="institutions",
        )
    )
    admin.add_view(BoardView(name="并发症看板", endpoint="board", url="board"))
    admin.add_view(TraceView(name="一键溯源", endpoint="trace", url="trace"))
    admin.add_view(
        ProblemMessageView(
            InboxMessage, container(app).request_sessions, name="异常消息", endpoint="problems"
        )
    )
    admin.add_view(
        RosterView(
            ConsultantDuty, container(app).request_sessions, name="会诊排班", endpoint="roster"
        )
    )
    admin.add_view(
        ConsultationListView(name="会诊", endpoint="consultation_list", url="consultations")
    )
    clinics.add_views(admin, container(app).request_sessions)
