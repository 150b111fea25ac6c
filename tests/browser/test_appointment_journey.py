"""In headless Chromium on a phone-sized screen (P8.1): the follower, signed in through the
simulator's WeChat OAuth, books a maintenance visit (institution → day → slot with its
remaining places), sees it on 我的预约, cancels it, and the place is free again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.care.rules import local_date
from bot.models import (
    AppointmentSlot,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.support.callbacks import sim_config
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis, pytest.mark.req("P8.1")]


def test_p8_1_a_patient_books_sees_and_cancels_an_appointment_in_the_browser(
    settings, engine, redis_conn, session, session_factory, page
):
    tz = settings.timezone
    day = local_date(utcnow(), tz) + timedelta(days=2)
    home = Institution(code="HOME", name="示范一院", is_home=True)
    zhao, account = Patient(name="赵大爷"), PatientAccount(openid="o_zhao")
    session.add_all([home, zhao, account])
    session.flush()
    slot = AppointmentSlot(
        institution_id=home.id,
        service="PICC_MAINT",
        starts_at=datetime.combine(day, time(8), tzinfo=tz).astimezone(UTC),
        ends_at=datetime.combine(day, time(11, 30), tzinfo=tz).astimezone(UTC),
        capacity=1,
    )
    profile = PatientProfile(account_id=account.id, patient_id=zhao.id, relation="本人")
    session.add_all([slot, profile])
    session.flush()
    account.active_profile_id = profile.id
    session.commit()

    def places_left() -> int:
        with session_factory() as s:
            row = s.get(AppointmentSlot, slot.id)
            return row.capacity - row.booked

    with LiveSim(sim_config(settings)) as sim:
        holder = {}  # the app is built once its address (its PUBLIC_BASE_URL) is known
        with serve(lambda environ, start: holder["app"](environ, start)) as site:
            live = replace(settings, wechat_api_base=sim.mp_api_base, public_base_url=site)
            holder["app"] = create_app(live)
            page.context.add_cookies([{"name": "sim_mp_user", "value": "o_zhao", "url": sim.url}])
            page.goto(site + "/h5/appointments")
            page.locator("h1", has_text="我的预约").wait_for()
            assert page.locator("text=暂无预约").is_visible()
            page.click("text=预约导管维护")
            page.locator("h1", has_text="预约导管维护").wait_for()
            page.click(f"text={day:%m月%d日}")
            page.click("button:has-text('08:00-11:30 PICC维护（余1）')")
            page.locator("[role=status]", has_text="预约成功").wait_for()
            booking = page.locator(".appt", has_text="示范一院 · PICC维护 · 就诊人：赵大爷")
            assert booking.is_visible() and f"{day:%m月%d日}" in booking.inner_text()
            assert places_left() == 0
            booking.locator("button:text-is('取消预约')").click()
            page.locator("[role=status]", has_text="预约已取消，名额已释放").wait_for()
            assert page.locator("text=暂无预约").is_visible()
            assert "【已取消：患者取消】" in page.locator(".appt.done").inner_text()
            assert places_left() == 1
