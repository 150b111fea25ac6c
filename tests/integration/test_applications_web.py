"""Outside clinicians apply on the H5 page; administrators review them in the admin web."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from bot.models import AuditLog, Institution, OutboxMessage, OutsideApplication, Staff, utcnow
from bot.models.enums import ApprovalStatus, StaffRole
from bot.services import auth
from server import create_app
from tests.integration.test_staff_web import csrf, sign_in

pytestmark = [pytest.mark.db, pytest.mark.redis]


def photo(fmt="JPEG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture
def app(settings, engine, redis_conn):
    return create_app(settings)


@pytest.fixture
def admin_client(app, session):
    return signed_in_admin(app, session)


def signed_in_admin(app, session):
    """An administrator of the home hospital, signed in to the admin web."""
    home = Institution(code="HOME", name="本院", is_home=True)
    session.add(
        Staff(
            institution=home,
            staff_no="A001",
            name="王管理",
            role=StaffRole.ADMIN,
            password_hash=auth.hash_password("Admin1234"),
            password_changed_at=utcnow(),
        )
    )
    session.commit()
    client = app.test_client()
    sign_in(client, "A001", "Admin1234")
    return client


FIELDS = {
    "name": "周建军",
    "hospital": "县妇幼保健院",
    "department": "血液科",
    "title": "主管护师",
    "phone": "13812345678",
    "licence": "201633000123",
}


def submit(client, badge: bytes | None = None, filename="badge.jpg", **changes):
    token = csrf(client.get("/apply").get_data(as_text=True))
    data = {"csrf_token": token, **FIELDS, **changes}
    if badge is not None:
        data["badge"] = (io.BytesIO(badge), filename)
    return client.post("/apply", data=data, content_type="multipart/form-data")


@pytest.mark.req("C1.2")
def test_an_application_with_a_badge_photo_is_pending_and_a_second_shows_its_status(
    app, session_factory
):
    client = app.test_client()
    r = submit(client, photo())
    assert r.status_code == 200 and "当前状态：<strong>待审核</strong>" in r.get_data(as_text=True)
    r = submit(client, photo("PNG"))
    assert "该手机号已有注册申请" in r.get_data(as_text=True)
    with session_factory() as s:
        [a] = s.scalars(select(OutsideApplication)).all()
        assert a.badge_photo_path and b"13812345678" not in a.phone_enc


@pytest.mark.req("C1.2")
@pytest.mark.parametrize(
    ("badge", "filename", "changes", "error"),
    [
        (None, "x", {}, "请上传工牌照片"),
        (b"%PDF-1.4 not a photo", "badge.jpg", {}, "不是有效的照片"),
        (b"\xff\xd8" + b"0" * (10 * 1024 * 1024), "big.jpg", {}, "不能超过10MB"),
        ("photo", "badge.jpg", {"phone": "12345"}, "请填写11位手机号"),
        ("photo", "badge.jpg", {"licence": "12-3"}, "8–30位字母或数字"),
        ("photo", "badge.jpg", {"name": "a"}, "真实姓名"),
    ],
)
def test_bad_applications_are_refused_with_the_reason_and_nothing_saved(
    app, session_factory, badge, filename, changes, error
):
    r = submit(app.test_client(), photo() if badge == "photo" else badge, filename, **changes)
    assert r.status_code == 400 and error in r.get_data(as_text=True)
    with session_factory() as s:
        assert s.scalars(select(OutsideApplication)).all() == []


@pytest.mark.req("C1.2", "A2.1", "A2.2", "X.1")
def test_review_queue_tabs_approve_creates_an_outside_clinician_who_can_sign_in(
    app, admin_client, session_factory
):
    submit(app.test_client(), photo())
    with session_factory() as s:
        application_id = s.scalar(select(OutsideApplication.id))
    pending = admin_client.get("/admin/applications/").get_data(as_text=True)
    assert "周建军" in pending and "138****5678" in pending and "13812345678" not in pending
    details = admin_client.get(f"/admin/applications/details/?id={application_id}").get_data(
        as_text=True
    )
    assert "工牌照片" in details and "审核通过" in details
    badge = admin_client.get(f"/admin/applications/badge/{application_id}")
    assert badge.status_code == 200 and badge.data[:2] == b"\xff\xd8"
    token = re.search(r'name="csrf_token" value="([^"]+)"', details).group(1)
    r = admin_client.post(
        f"/admin/applications/approve/{application_id}",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    password = re.search(r"初始密码：<code>(\w+)</code>", page).group(1)
    assert "周建军" in page  # now under the approved tab
    assert admin_client.get("/admin/applications/").get_data(as_text=True).count("周建军") == 0
    # approving twice is refused
    r = admin_client.post(
        f"/admin/applications/approve/{application_id}",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "不能重复审核" in r.get_data(as_text=True)
    with session_factory() as s:
        staff = s.scalar(select(Staff).where(Staff.role == StaffRole.OUTSIDE_CLINICIAN))
        assert staff.institution.name == "县妇幼保健院" and not staff.institution.is_home
        assert s.scalar(select(AuditLog).where(AuditLog.action == "approve"))
    newcomer = app.test_client()
    r = sign_in(newcomer, "13812345678", password)
    assert r.headers["Location"].endswith("/password")


@pytest.mark.req("C1.2", "A2.2")
def test_rejection_needs_a_reason_and_the_applicant_may_apply_again(
    app, admin_client, session_factory
):
    submit(app.test_client(), photo())
    with session_factory() as s:
        application_id = s.scalar(select(OutsideApplication.id))
    details = admin_client.get(f"/admin/applications/details/?id={application_id}").get_data(
        as_text=True
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', details).group(1)
    r = admin_client.post(
        f"/admin/applications/reject/{application_id}",
        data={"csrf_token": token, "reason": " "},
        follow_redirects=True,
    )
    assert "请填写不通过的原因" in r.get_data(as_text=True)
    r = admin_client.post(
        f"/admin/applications/reject/{application_id}",
        data={"csrf_token": token, "reason": "工牌照片不清晰"},
        follow_redirects=True,
    )
    assert "已驳回" in r.get_data(as_text=True)
    with session_factory() as s:
        a = s.get(OutsideApplication, application_id)
        assert (a.status, a.reason) == (ApprovalStatus.REJECTED, "工牌照片不清晰")
    r = submit(app.test_client(), photo())
    assert "申请已提交" in r.get_data(as_text=True)


@pytest.mark.req("A2.2")
def test_a_forged_review_without_the_token_changes_nothing(app, admin_client, session_factory):
    submit(app.test_client(), photo())
    with session_factory() as s:
        application_id = s.scalar(select(OutsideApplication.id))
    assert admin_client.post(f"/admin/applications/approve/{application_id}").status_code == 400
    with session_factory() as s:
        assert s.get(OutsideApplication, application_id).status is ApprovalStatus.PENDING
        assert s.scalars(select(OutboxMessage)).all() == []


@pytest.mark.req("A2.2")
def test_approval_adds_the_clinician_to_the_wechat_work_department_and_tells_them(
    settings, engine, redis_conn, session, session_factory
):
    from dataclasses import replace

    from devtools.wechat_sim.server import LiveSim
    from tests.support.callbacks import sim_config

    with LiveSim(sim_config(settings)) as sim:
        live = replace(settings, wecom_api_base=sim.work_api_base, wecom_outside_department_id=5)
        app = create_app(live)
        admin = signed_in_admin(app, session)
        submit(app.test_client(), photo())
        with session_factory() as s:
            application_id = s.scalar(select(OutsideApplication.id))
        details = admin.get(f"/admin/applications/details/?id={application_id}").get_data(
            as_text=True
        )
        token = re.search(r'name="csrf_token" value="([^"]+)"', details).group(1)
        admin.post(f"/admin/applications/approve/{application_id}", data={"csrf_token": token})
        with session_factory() as s:
            staff = s.scalar(select(Staff).where(Staff.role == StaffRole.OUTSIDE_CLINICIAN))
            [notice] = s.scalars(select(OutboxMessage)).all()
        member = sim.state.work_user(staff.wecom_userid)
        assert member["department"] == [5] and member["mobile"] == "13812345678"
        assert (
            notice.recipient == f"user:{staff.wecom_userid}"
            and "已通过" in notice.payload["text"]["content"]
        )


@pytest.mark.req("A2.2")
def test_the_applicant_is_told_by_sms_either_way(
    settings, engine, redis_conn, session, session_factory, cipher
):
    from dataclasses import replace

    import requests

    from bot.adapters.wechat import Senders
    from bot.channels.outbox import Deliverer
    from devtools.dev_env import SMS_DEV_TEMPLATES
    from devtools.sms_sim import (
        DEV_SDK_APP_ID,
        DEV_SECRET_ID,
        DEV_SECRET_KEY,
        DEV_SIGN_NAME,
        create_sms_sim_app,
    )
    from server import bootstrap
    from tests.support.servers import serve

    with serve(create_sms_sim_app()) as url:
        live = replace(
            settings,
            sms_provider="tencent",
            sms_api_base=url,
            sms_secret_id=DEV_SECRET_ID,
            sms_secret_key=DEV_SECRET_KEY,
            sms_sdk_app_id=DEV_SDK_APP_ID,
            sms_sign_name=DEV_SIGN_NAME,
            sms_templates=SMS_DEV_TEMPLATES,
        )
        app = create_app(live)
        admin = signed_in_admin(app, session)
        submit(app.test_client(), photo())
        submit(app.test_client(), photo(), phone="13912345678")
        details = admin.get("/admin/applications/details/?id=1").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', details).group(1)
        admin.post("/admin/applications/approve/1", data={"csrf_token": token})
        admin.post(
            "/admin/applications/reject/2", data={"csrf_token": token, "reason": "执业证号无法核实"}
        )
        senders = Senders(
            mp=None,
            work=None,
            work_agent_id=0,
            sms=bootstrap(live).sms,
            sms_templates=live.sms_templates,
        )
        d = Deliverer(
            session_factory=session_factory, redis=redis_conn, senders=senders, cipher=cipher
        )
        with session_factory() as s:
            for row in s.scalars(select(OutboxMessage)):
                d.deliver(row.id)
        texts = {
            m["phone"]: m["text"] for m in requests.get(url + "/_sim/messages").json()["messages"]
        }
    assert "注册申请已通过" in texts["13812345678"]
    assert "未通过，原因：执业证号无法核实" in texts["13912345678"]
