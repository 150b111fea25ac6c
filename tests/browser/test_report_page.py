"""In headless Chromium as a touch phone: the follower opens a report page through the
simulator's WeChat OAuth, zooms the photo with a double tap and with a two-finger pinch (real
touch input, which the page receives as pointer events), then corrects the report's date and
institution and sees them saved."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.care.rules import local_date
from bot.models import Patient, PatientAccount, PatientProfile, utcnow
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.support.callbacks import sim_config
from tests.support.reports import add_report
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]
WIDTH, HEIGHT = 400, 760


@pytest.fixture
def phone(browser) -> Iterator[Any]:
    """A touch phone's page; any JavaScript error fails the test."""
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, has_touch=True, is_mobile=True, locale="zh-CN"
    )
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, errors


def scale(page) -> float:
    """The photo's scale as drawn (its computed transform), not what the script says."""
    return page.evaluate(
        "() => new DOMMatrix(getComputedStyle(document.getElementById('photo')).transform).a"
    )


def pinch(page, centre: tuple[float, float], start: float, end: float, steps: int = 8) -> None:
    """Two fingers on the photo moving apart from ``start`` to ``end`` px, through CDP."""
    cdp = page.context.new_cdp_session(page)
    x, y = centre

    def fingers(gap: float) -> list[dict]:
        return [{"x": x - gap / 2, "y": y, "id": 0}, {"x": x + gap / 2, "y": y, "id": 1}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(start)})
    for n in range(1, steps + 1):
        gap = start + (end - start) * n / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(gap)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


@pytest.mark.req("P4.2", "P4.4")
def test_p4_2_the_report_photo_zooms_on_a_phone_and_p4_4_the_date_is_corrected(
    settings, engine, redis_conn, session, phone
):
    today = local_date(utcnow(), settings.timezone)
    zhao, account = Patient(name="赵大爷"), PatientAccount(openid="o_zhao")
    session.add_all([zhao, account])
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=zhao.id, relation="本人")
    session.add(profile)
    session.flush()
    account.active_profile_id = profile.id
    report = add_report(
        session,
        settings.media_root,
        zhao.id,
        institution=None,
        items=[("血小板", "PLT", "45", "125-350", "L")],
        account_id=account.id,
    )
    session.commit()
    page = phone
    with LiveSim(sim_config(settings)) as sim:
        holder = {}
        with serve(lambda environ, start: holder["app"](environ, start)) as site:
            live = replace(settings, wechat_api_base=sim.mp_api_base, public_base_url=site)
            holder["app"] = create_app(live)
            page.context.add_cookies([{"name": "sim_mp_user", "value": "o_zhao", "url": sim.url}])
            page.goto(f"{site}/h5/reports/{report.id}")
            page.locator("h1", has_text="血常规 · 日期待补充").wait_for()
            page.wait_for_function(
                "() => { const i = document.getElementById('photo');"
                " return i.complete && i.naturalWidth > 0; }"
            )
            box = page.locator("#viewer").bounding_box()
            assert box["width"] >= 0.85 * WIDTH and box["height"] >= 0.5 * HEIGHT
            assert scale(page) == 1
            # double tap: zoomed in around the finger; again: back to the whole photo
            x, y = box["x"] + box["width"] / 3, box["y"] + box["height"] / 3
            page.touchscreen.tap(x, y)
            page.touchscreen.tap(x, y)
            assert scale(page) > 2
            assert float(page.get_attribute("#viewer", "data-scale")) > 2
            page.touchscreen.tap(x, y)
            page.touchscreen.tap(x, y)
            assert scale(page) == 1
            # a pinch from 80 to 200 px apart zooms 2.5 times
            centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            pinch(page, centre, 80, 200)
            assert 2.3 < scale(page) < 2.7
            # full screen and back
            page.click("#full-toggle")
            full = page.locator("#viewer").bounding_box()
            assert (full["width"], full["height"]) == (WIDTH, HEIGHT)
            page.click("text=退出全屏")
            # the date OCR did not find, and the hospital
            day = today - timedelta(days=3)
            page.fill("#report_date", day.isoformat())
            page.fill("#institution", "市第二人民医院")
            page.click("button:has-text('保存')")
            page.locator("text=已保存").wait_for()
            assert page.locator("h1").inner_text() == f"血常规 · {day.isoformat()}"
            assert page.input_value("#report_date") == day.isoformat()
            assert page.input_value("#institution") == "市第二人民医院"
