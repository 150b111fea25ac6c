"""In headless Chromium on a phone-sized screen: the follower opens their home page through
the simulator's WeChat OAuth, taps the catheter's QR code and gets it full-screen, large enough
to fill the width, with the words for the nurse in view and nothing to scroll; the code on the
screen scans back to the catheter. Then the catheter's paper form and maintenance records."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from bot.models import Catheter, MaintenanceRecord, Patient, PatientAccount, PatientProfile, utcnow
from bot.services.qr import QrCodes
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.support.callbacks import sim_config
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]
WIDTH, HEIGHT = 400, 760  # the page fixture's phone


@pytest.mark.req("P2.2", "P2.3", "P6.1", "P6.3")
def test_the_follower_shows_the_code_full_screen_and_reads_the_records(
    settings, engine, redis_conn, session, page
):
    zhao, account = Patient(name="赵大爷"), PatientAccount(openid="o_zhao")
    session.add_all([zhao, account])
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=zhao.id, relation="本人")
    picc = Catheter(
        patient_id=zhao.id,
        device_type="PICC",
        placed_at=utcnow() - timedelta(days=9),
        vein="BASILIC",
        side="RIGHT",
    )
    session.add_all([profile, picc])
    session.flush()
    account.active_profile_id = profile.id
    session.add(
        MaintenanceRecord(
            catheter_id=picc.id,
            performed_at=utcnow() - timedelta(days=2),
            flushed=True,
            site_findings=["REDNESS"],
        )
    )
    session.commit()
    with LiveSim(sim_config(settings)) as sim:
        holder = {}  # the app is built once its address (its PUBLIC_BASE_URL) is known
        with serve(lambda environ, start: holder["app"](environ, start)) as site:
            live = replace(settings, wechat_api_base=sim.mp_api_base, public_base_url=site)
            holder["app"] = create_app(live)
            page.context.add_cookies([{"name": "sim_mp_user", "value": "o_zhao", "url": sim.url}])
            page.goto(site + "/h5/home")
            page.locator("h1", has_text="赵大爷（本人）").wait_for()
            page.click("text=置管二维码（PICC，全屏出示给护士）")
            page.wait_for_function(
                "() => { const i = document.querySelector('#code');"
                " return i && i.complete && i.naturalWidth > 0; }"
            )
            box = page.locator("#code").bounding_box()
            assert box["width"] >= 0.85 * WIDTH and box["width"] == box["height"]
            ask = page.locator("text=请护士扫描此码登记维护")
            words = ask.bounding_box()
            assert words["y"] + words["height"] <= HEIGHT  # in view without scrolling
            assert page.evaluate("document.documentElement.scrollHeight") <= HEIGHT
            assert page.locator("text=赵** · PICC").is_visible()
            [code] = decode(Image.open(io.BytesIO(page.screenshot())))
            scanned = QrCodes.from_settings(live).catheter(session, code.data.decode())
            assert scanned.id == picc.id and code.data.decode().startswith(site + "/q/")
            page.click("text=返回")
            page.locator("h2", has_text="置管登记表").wait_for()
            assert "右侧贵要静脉" in page.locator("table.form").inner_text()
            assert "穿刺点：发红" in page.locator(".visit").inner_text()
