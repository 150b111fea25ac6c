"""In headless Chromium: the vascular-access team's board (A7.2) shows a complication reported
while it is open, without a reload, and says so when a poll fails, then recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.care.rules import local_date
from bot.models import Catheter, Institution, Patient, Staff, utcnow
from bot.models.enums import ActorType, StaffRole
from bot.services import audit, auth, complications
from bot.services import dictionary as dictionary_service
from server import create_app
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def desk(browser) -> Iterator[Any]:
    """A desktop page (the admin web); any JavaScript error fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture
def ward(settings, engine, redis_conn, session):
    home = Institution(code="HOME", name="本院", is_home=True)
    admin = Staff(
        institution=home,
        staff_no="A001",
        name="王管理",
        role=StaffRole.ADMIN,
        password_hash=auth.hash_password("Admin1234"),
        password_changed_at=utcnow(),
    )
    nurse = Staff(institution=home, staff_no="N001", name="李护士", role=StaffRole.NURSE)
    patient = Patient(name="张小明")
    session.add_all([home, admin, nurse, patient])
    session.flush()
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        placed_at=utcnow() - timedelta(days=10),
        responsible_staff_id=nurse.id,
    )
    session.add(catheter)
    session.commit()
    with serve(create_app(settings)) as url:
        yield {"url": url, "home": home, "nurse": nurse, "catheter": catheter}


def open_board(page, url: str) -> None:
    page.goto(url + "/login?next=/admin/board/")
    page.fill("#login", "A001")
    page.fill("#password", "Admin1234")
    page.click("button[type=submit]")
    page.locator("h2", has_text="并发症看板").wait_for()


@pytest.mark.req("A7.2")
def test_a7_2_board_shows_a_new_complication_without_reload(ward, desk, session, settings):
    open_board(desk, ward["url"])
    assert desk.locator("#board-rows").inner_text().strip() == "目前没有未结案的并发症。"
    desk.evaluate("() => { window.notReloaded = true; }")
    first_stamp = desk.locator("#board-refreshed").inner_text()
    complications.report(
        session,
        dictionary_service.current(session),
        ward["catheter"].id,
        type_code="CRBSI",
        onset_on=local_date(utcnow(), settings.timezone),
        grade=None,
        brief_history="寒战高热",
        tz=settings.timezone,
        actor=audit.Actor(ActorType.STAFF, ward["nurse"].id),
        institution_id=ward["home"].id,
    )
    session.commit()
    reported = time.monotonic()
    row = desk.locator("#board-rows tr.board-row").first
    row.wait_for(timeout=5000)
    assert time.monotonic() - reported < 5
    text = row.inner_text()
    assert "刚刚上报" in text and "警示" in text and "张*明" in text and "张小明" not in text
    assert "导管相关血流感染" in text and "李护士" in text
    assert desk.locator("#board-count").inner_text() == "1"
    assert desk.evaluate("() => window.notReloaded") is True  # the same page, not a reload
    assert desk.locator("#board-refreshed").inner_text() != first_stamp  # says when it polled


@pytest.mark.req("A7.2")
def test_a7_2_board_says_when_a_poll_fails_and_recovers(ward, desk):
    open_board(desk, ward["url"])
    desk.route("**/admin/board/feed*", lambda route: route.abort())
    state = desk.locator("#board-state")
    state.filter(has_text="连接中断，正在重试").wait_for(timeout=5000)
    desk.unroute("**/admin/board/feed*")
    desk.wait_for_function(
        "() => document.getElementById('board-state').textContent === ''", timeout=5000
    )
    assert desk.locator("#board-rows").inner_text().strip() == "目前没有未结案的并发症。"
