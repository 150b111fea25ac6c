"""In headless Chromium: staff sign-in and lockout, the outside-clinician application, and
its review in the admin web (approve, and reject with a required reason)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.models import Institution, Staff, utcnow
from bot.models.enums import StaffRole
from bot.services import auth
from server import create_app
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def site(settings, engine, redis_conn, session):
    home = Institution(code="HOME", name="本院", is_home=True)
    session.add_all(
        [
            Staff(
                institution=home,
                staff_no="A001",
                name="王管理",
                role=StaffRole.ADMIN,
                password_hash=auth.hash_password("Admin1234"),
                password_changed_at=utcnow(),
            ),
            Staff(
                institution=home,
                staff_no="N001",
                name="李护士",
                role=StaffRole.NURSE,
                password_hash=auth.hash_password("Nurse1234"),
                password_changed_at=utcnow(),
            ),
        ]
    )
    session.commit()
    with serve(create_app(settings)) as url:
        yield url


def sign_in(page, url, login, password):
    page.goto(url + "/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")


@pytest.mark.req("C1.1")
def test_staff_sign_in_and_lockout(site, page):
    sign_in(page, site, "N001", "Nurse1234")
    page.locator("h1", has_text="李护士，您好").wait_for()
    page.click("text=退出登录")
    page.locator("text=已退出登录").wait_for()
    for _ in range(4):
        sign_in(page, site, "N001", "wrong")
    assert "再错1次将锁定账号" in page.locator("[role=alert]").inner_text()
    sign_in(page, site, "N001", "wrong")
    assert "账号已锁定，请15分钟后再试" in page.locator("[role=alert]").inner_text()
    sign_in(page, site, "N001", "Nurse1234")
    assert "分钟后再试" in page.locator("[role=alert]").inner_text()


def apply(page, url, tmp_path, phone):
    badge = tmp_path / f"badge-{phone}.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 90, 160)).save(buf, "JPEG")
    badge.write_bytes(buf.getvalue())
    page.goto(url + "/apply")
    for field, value in [
        ("name", "周建军"),
        ("hospital", "县妇幼保健院"),
        ("department", "血液科"),
        ("title", "主管护师"),
        ("phone", phone),
        ("licence", "201633000123"),
    ]:
        page.fill(f"#{field}", value)
    page.set_input_files("#badge", str(badge))
    page.click("button[type=submit]")


@pytest.mark.req("C1.2")
def test_outside_clinician_applies_with_a_badge_photo(site, page, tmp_path):
    page.goto(site + "/apply")
    page.click("button[type=submit]")  # nothing filled in
    assert page.locator(".field-error", has_text="请填写姓名").count() == 1
    assert page.locator(".field-error", has_text="请上传工牌照片").count() == 1
    apply(page, site, tmp_path, "13812345678")
    status = page.locator("[role=status]").inner_text()
    assert "申请已提交" in status and "待审核" in status


@pytest.mark.req("C1.2", "A2.1", "A2.2")
def test_admin_approves_one_application_and_rejects_another_with_a_reason(site, browser, tmp_path):
    applicant = browser.new_context(locale="zh-CN").new_page()
    apply(applicant, site, tmp_path, "13812345678")
    apply(applicant, site, tmp_path, "13912345678")
    admin = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in(admin, site, "A001", "Admin1234")
    admin.goto(site + "/admin/applications/")
    assert admin.locator(".nav-link.active", has_text="待审核").count() == 1
    assert admin.locator("td", has_text="138****5678").count() == 1
    # approve the first
    admin.goto(site + "/admin/applications/details/?id=1")
    admin.wait_for_function(
        "() => { const i = document.querySelector('img[alt=工牌照片]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert admin.locator("img[alt=工牌照片]").evaluate("img => img.naturalWidth") == 120
    admin.click("button:text-is('审核通过')")
    flash = admin.locator(".alert", has_text="初始密码").inner_text()
    assert "已通过 周建军 的申请" in flash
    password = flash.split("初始密码：")[1].split("（")[0].strip()
    # reject the second: the reason is required
    admin.goto(site + "/admin/applications/details/?id=2")
    admin.click("button:text-is('不通过')")
    assert admin.evaluate("document.querySelector('#reason').validity.valueMissing")
    admin.fill("#reason", "工牌照片与姓名不符")
    admin.click("button:text-is('不通过')")
    admin.locator(".alert", has_text="已驳回").wait_for()
    assert admin.locator(".nav-link.active", has_text="未通过").count() == 1
    assert admin.locator("td", has_text="139****5678").count() == 1
    # the approved clinician signs in and must choose a password
    sign_in(applicant, site, "13812345678", password)
    applicant.locator("h1", has_text="修改密码").wait_for()
