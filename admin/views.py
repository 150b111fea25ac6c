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
from .dashboard import DashboardView
from .dictionary import DictionaryView
from .exports import ExportView
from .institutions import InstitutionView
from .lowcode import LowcodeView
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
    sessions = container(app).request_sessions
    # the menu: five groups and the problem messages (Flask-Admin categories are dropdowns)
    people, content, quality, numbers = "账号与档案", "内容与标准", "质控与会诊", "统计与导出"
    admin.add_view(
        DashboardView(name="统计看板", endpoint="dashboard", url="dashboard", category=numbers)
    )
    admin.add_view(ExportView(name="数据导出", endpoint="exports", url="exports", category=numbers))
    admin.add_view(
        LowcodeView(name="低代码平台", endpoint="lowcode", url="lowcode", category=numbers)
    )
    admin.add_view(BoardView(name="并发症看板", endpoint="board", url="board", category=quality))
    admin.add_view(TraceView(name="一键溯源", endpoint="trace", url="trace", category=quality))
    admin.add_view(
        ConsultationListView(
            name="会诊", endpoint="consultation_list", url="consultations", category=quality
        )
    )
    admin.add_view(
        RosterView(ConsultantDuty, sessions, name="会诊排班", endpoint="roster", category=quality)
    )
    admin.add_view(StaffView(Staff, sessions, name="医护账号", endpoint="staff", category=people))
    admin.add_view(
        ApplicationView(
            OutsideApplication,
            sessions,
            name="外院注册审核",
            endpoint="applications",
            category=people,
        )
    )
    admin.add_view(
        PatientAccountView(
            PatientAccount, sessions, name="患者账号", endpoint="accounts", category=people
        )
    )
    admin.add_view(
        PatientRecordView(name="患者档案", endpoint="patients", url="patients", category=people)
    )
    admin.add_view(
        DictionaryView(name="临床字典", endpoint="dictionary", url="dictionary", category=content)
    )
    admin.add_view(
        ArticleView(name="科普宣教", endpoint="articles", url="articles", category=content)
    )
    admin.add_view(
        AgreementView(
            name="服务协议与隐私政策", endpoint="agreements", url="agreements", category=content
        )
    )
    admin.add_view(
        InstitutionView(
            Institution, sessions, name="医疗机构", endpoint="institutions", category=content
        )
    )
    clinics.add_views(admin, sessions)
    admin.add_view(ProblemMessageView(InboxMessage, sessions, name="异常消息", endpoint="problems"))
