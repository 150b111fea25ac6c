"""Staff sign-in pages and the admin web: roles, lockout, rate limit, forced password change."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.models import AuditLog, Institution, Staff, utcnow
from bot.models.enums import StaffRole
from bot.services import auth
from server import create_app

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def app(settings, engine, redis_conn):
    app = create_app(settings)
    app.config["RATELIMIT_ENABLED"] = True
    return app


@pytest.fixture
def people(session, cipher):
    home = Institution(code="HOME", name="本院", is_home=True)
    admin = Staff(
        institution=home,
        staff_no="A001",
        name="王管理",
        role=StaffRole.ADMIN,
        password_hash=auth.hash_password("Admin1234"),
        password_changed_at=utcnow(),
    )
    nurse = Staff(
        institution=home,
        staff_no="N001",
        name="李护士",
        role=StaffRole.NURSE,
        password_hash=auth.hash_password("Nurse1234"),
        password_changed_at=utcnow(),
    )
    session.add_all([admin, nurse])
    session.commit()
    return {"home": home, "admin": admin, "nurse": nurse}


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def sign_in(client, login, password, **kw):
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"csrf_token": token, "login": login, "password": password}, **kw
    )


@pytest.mark.req("C1.1")
def test_login_page_is_chinese_and_needs_its_csrf_token(app, people):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    assert "医护人员登录" in html and "工号或手机号" in html
    r = client.post("/login", data={"login": "N001", "password": "Nurse1234"})
    assert r.status_code == 200 and "李护士" not in r.get_data(as_text=True)  # no token: no sign-in


@pytest.mark.req("C1.1", "A1.1")
def test_roles_decide_where_staff_land_and_what_they_may_open(app, people):
    nurse = app.test_client()
    r = sign_in(nurse, "N001", "Nurse1234")
    assert r.status_code == 302 and r.headers["Location"].endswith("/me")
    assert nurse.get("/admin/staff/").status_code == 403
    admin = app.test_client()
    r = sign_in(admin, "A001", "Admin1234")
    assert r.headers["Location"].endswith("/admin/")
    page = admin.get("/admin/staff/").get_data(as_text=True)
    assert "医护账号" in page and "李护士" in page
    anonymous = app.test_client()
    r = anonymous.get("/admin/staff/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.req("C1.1")
def test_session_cookie_expires_after_a_shift(app, people):
    client = app.test_client()
    r = sign_in(client, "N001", "Nurse1234")
    cookie = r.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600


@pytest.mark.req("C1.1")
def test_lockout_is_shown_with_the_time_to_wait(app, people):
    client = app.test_client()
    for _ in range(4):
        assert sign_in(client, "N001", "wrong").status_code == 401
    r = sign_in(client, "N001", "wrong")
    assert "账号已锁定，请15分钟后再试" in r.get_data(as_text=True)
    r = sign_in(client, "N001", "Nurse1234")
    assert r.status_code == 401 and "分钟后再试" in r.get_data(as_text=True)


@pytest.mark.req("C1.1")
def test_too_many_attempts_from_one_address_are_rate_limited(app, people):
    client = app.test_client()
    codes = [sign_in(client, f"X{i}", "wrong").status_code for i in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429


@pytest.mark.req("A1.1", "C1.1", "X.1")
def test_admin_creates_an_account_whose_first_sign_in_forces_a_password_change(
    app, people, session_factory
):
    admin = app.test_client()
    sign_in(admin, "A001", "Admin1234")
    form = admin.get("/admin/staff/new/").get_data(as_text=True)
    r = admin.post(
        "/admin/staff/new/",
        data={
            "csrf_token": csrf(form),
            "name": "赵护士",
            "staff_no": "N002",
            "role": "nurse",
            "institution": str(people["home"].id),
            "mobile": "13900002222",
            "active": "y",
        },
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    temporary = re.search(r"初始密码：(\w+)", page).group(1)
    with session_factory() as s:
        created = s.scalar(select(Staff).where(Staff.staff_no == "N002"))
        assert created.phone_enc and b"13900002222" not in created.phone_enc
        assert s.scalar(
            select(AuditLog).where(AuditLog.object_type == "staff", AuditLog.action == "create")
        )
    newcomer = app.test_client()
    r = sign_in(newcomer, "13900002222", temporary)
    assert r.headers["Location"].endswith("/password")
    assert newcomer.get("/me").status_code == 302  # nothing else until the password is changed
    token = csrf(newcomer.get("/password").get_data(as_text=True))
    r = newcomer.post(
        "/password",
        data={"csrf_token": token, "old": temporary, "new": "abcdefgh", "again": "abcdefgh"},
    )
    assert "字母和数字" in r.get_data(as_text=True)
    r = newcomer.post(
        "/password",
        data={"csrf_token": token, "old": temporary, "new": "Zhao12345", "again": "Zhao12345"},
    )
    assert r.status_code == 302
    assert newcomer.get("/me").status_code == 200


@pytest.mark.req("C1.1")
def test_first_sign_in_from_the_wechat_work_app_binds_the_member_then_oauth_suffices(
    settings, engine, redis_conn, people, session_factory
):
    from dataclasses import replace
    from urllib.parse import urlsplit

    import requests

    from devtools.wechat_sim.server import LiveSim
    from tests.support.callbacks import sim_config

    def through_wechat_work(client):
        r = client.get("/work/login")
        sim = requests.get(
            r.headers["Location"].split("#")[0] + "&sim_user=n0001", allow_redirects=False
        )
        back = urlsplit(sim.headers["Location"])
        return client.get(back.path + "?" + back.query)

    with LiveSim(sim_config(settings)) as sim:
        app = create_app(replace(settings, wecom_api_base=sim.work_api_base))
        client = app.test_client()
        r = through_wechat_work(client)
        assert r.headers["Location"].endswith("/login")  # not bound yet: password once
        assert "首次从企业微信登录" in client.get("/login").get_data(as_text=True)
        sign_in(client, "N001", "Nurse1234")
        with session_factory() as s:
            assert s.get(Staff, people["nurse"].id).wecom_userid == "n0001"
        again = app.test_client()
        r = through_wechat_work(again)
        assert r.headers["Location"].endswith("/me")
        assert "李护士" in again.get("/me").get_data(as_text=True)
        r = again.get("/work/login/callback?code=x&state=forged")
        assert r.status_code == 400 and "登录链接已过期" in r.get_data(as_text=True)


@pytest.mark.req("A1.1", "X.1")
def test_admin_sees_patient_accounts_unbinds_one_and_the_listing_is_audited(
    app, people, session, session_factory
):
    from bot.models import Patient, PatientAccount, PatientProfile

    acc = PatientAccount(openid="oABCDEFGHIJKLMNOP123", ih_user_id="ih-9")
    p = Patient(name="张三")
    session.add_all([acc, p])
    session.flush()
    session.add(PatientProfile(account_id=acc.id, patient_id=p.id))
    session.commit()
    admin = app.test_client()
    sign_in(admin, "A001", "Admin1234")
    page = admin.get("/admin/accounts/").get_data(as_text=True)
    assert "oABCDE…P123" in page and "oABCDEFGHIJKLMNOP123" not in page
    token = csrf(page)
    admin.post(
        "/admin/accounts/action/",
        data={"csrf_token": token, "action": "unbind", "rowid": str(acc.id)},
    )
    with session_factory() as s:
        assert s.get(PatientAccount, acc.id).ih_user_id is None
        assert s.scalar(select(AuditLog).where(AuditLog.object_type == "patient_account_list"))
    nurse = app.test_client()
    sign_in(nurse, "N001", "Nurse1234")
    assert nurse.get("/admin/accounts/").status_code == 403
