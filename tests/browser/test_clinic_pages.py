"""In headless Chromium: the placement form (invalid, then valid) and the due list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.care.rules import local_date
from bot.models import Catheter, Institution, Patient, Staff, utcnow
from bot.models.enums import StaffRole
from bot.security import idcard
from bot.services import auth
from server import create_app
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]
ID = "33010219680312001" + idcard.check_digit("33010219680312001")


@pytest.fixture
def site(settings, engine, redis_conn, session):
    home = Institution(code="HOME", name="本院", is_home=True)
    session.add(
        Staff(
            institution=home,
            staff_no="N001",
            name="李护士",
            role=StaffRole.NURSE,
            password_hash=auth.hash_password("Nurse1234"),
            password_changed_at=utcnow(),
        )
    )
    session.commit()
    with serve(create_app(settings)) as url:
        yield url


def sign_in(page, url):
    page.goto(url + "/login?next=/staff/placements/new")
    page.fill("#login", "N001")
    page.fill("#password", "Nurse1234")
    page.click("button[type=submit]")


@pytest.mark.req("C3.2", "P2.2")
def test_placement_form_shows_field_errors_then_saves(site, page, settings):
    sign_in(page, site)
    page.locator("h1", has_text="置管登记 · PICC").wait_for()
    page.fill("#patient_name", "张三")
    page.fill("#id_card", ID)
    page.select_option("#vein", label="贵要静脉")
    page.select_option("#side", label="右侧")
    page.fill("#insertion_length_cm", "300")
    page.fill("#external_length_cm", "3")
    page.fill("#arm_circumference_cm", "26")
    page.check("input[value=US]")
    page.click("button:text-is('保存')")
    assert (
        "置入长度应在 5–80 之间" in page.locator(".field-error[role=alert]").all_inner_texts()[-1]
        or page.locator("text=置入长度应在 5–80 之间").count() == 1
    )
    assert page.locator("#patient_name").input_value() == "张三"  # what was typed is kept
    page.fill("#insertion_length_cm", "42")
    page.click("button:text-is('保存')")
    page.locator("[role=status]", has_text="置管已登记").wait_for()
    page.wait_for_function(  # the card is drawn on request: wait for the image to arrive
        "() => { const i = document.querySelector('img[alt=置管二维码卡片]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert page.locator("img[alt=置管二维码卡片]").evaluate("img => img.naturalWidth") == 400


@pytest.mark.req("C3.1")
def test_due_list_shows_words_and_colours_overdue_first(site, page, settings, session):
    today = local_date(utcnow(), settings.timezone)
    home_id = session.query(Institution.id).filter_by(code="HOME").scalar()
    for name, offset in [("丙", 1), ("甲", -3), ("乙", 0)]:
        p = Patient(name=name)
        session.add(p)
        session.flush()
        session.add(
            Catheter(
                patient_id=p.id,
                device_type="PICC",
                institution_id=home_id,
                placed_at=utcnow() - timedelta(days=30),
                next_due_on=today + timedelta(days=offset),
            )
        )
    session.commit()
    sign_in(page, site)
    page.goto(site + "/staff/due")
    rows = page.locator(".due").all_inner_texts()
    assert [r.split("】")[0] + "】" for r in rows] == [
        "【已逾期】",
        "【今日需维护】",
        "【即将到期】",
    ]
    assert "甲" in rows[0] and "逾期3天" in rows[0]
    colours = page.locator(".due .status").evaluate_all(
        "els => els.map(e => getComputedStyle(e).color)"
    )
    assert len(set(colours)) == 3  # distinct colours, and never colour alone (the words above)
