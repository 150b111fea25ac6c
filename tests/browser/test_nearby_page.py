"""In headless Chromium: an administrator adds an institution in the admin web (its address
geocoded by the Tencent Location Service simulator), and a patient's nearby page in WeChat —
position from a stand-in ``wx`` (jweixin cannot load offline) — lists it at the right distance,
and its map button opens WeChat's map at the institution."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bot.models import Institution, PatientAccount, Staff, utcnow
from bot.models.enums import StaffRole
from bot.services import auth
from devtools.lbs_sim import DEV_KEY, DEV_SECRET_KEY, LbsState, create_lbs_sim_app
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.integration.test_nearby import add_follower
from tests.support.callbacks import sim_config
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.44"
)
PATIENT_AT = (30.2590, 120.1650)  # GCJ-02, what the stand-in wx.getLocation answers
ADDRESS = "浙江省杭州市西湖区学院路77号"  # the simulator puts it at 30.2790, 120.1330
# A stand-in for jweixin-1.6.0.js: config/ready/error, a fixed position, the map call recorded
FAKE_WX = f"""
window.wx = {{
  config: function (c) {{ window.__wxConfig = c; }},
  ready: function (f) {{ setTimeout(f, 0); }},
  error: function () {{}},
  getLocation: function (o) {{
    window.__locationType = o.type;
    setTimeout(function () {{ o.success({{latitude: {PATIENT_AT[0]}, longitude: {PATIENT_AT[1]},
      speed: 0, accuracy: 30}}); }}, 0);
  }},
  openLocation: function (o) {{ window.__opened = o; }}
}};
"""


def hand_distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Over a few km the earth is flat: north-south and east-west legs, Pythagoras."""
    km_per_degree = 6371.0 * math.pi / 180
    north = (b[0] - a[0]) * km_per_degree
    east = (b[1] - a[1]) * km_per_degree * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(north, east)


@pytest.mark.req("P5.1", "A3.1")
def test_p5_1_an_institution_the_admin_adds_appears_on_the_patients_nearby_page(
    settings, engine, redis_conn, session, browser
):
    home = Institution(code="HOME", name="本院", is_home=True, city="杭州市")
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
    add_follower(session, "o_qian", "钱阿姨", "PICC")  # commits
    expected = hand_distance_km(PATIENT_AT, (30.2790, 120.1330))
    assert 3.7 < expected < 3.9  # ~2.2 km north, ~3.1 km west

    with (
        LiveSim(sim_config(settings)) as sim,
        serve(create_lbs_sim_app(LbsState())) as lbs,
    ):
        holder = {}
        with serve(lambda environ, start: holder["app"](environ, start)) as site:
            live = replace(
                settings,
                wechat_api_base=sim.mp_api_base,
                public_base_url=site,
                lbs_api_base=lbs,
                lbs_key=DEV_KEY,
                lbs_secret_key=DEV_SECRET_KEY,
            )
            holder["app"] = create_app(live)
            # the administrator adds the institution, address only
            admin_context = browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 900}
            )
            admin = admin_context.new_page()
            admin.goto(site + "/login")
            admin.fill("#login", "A001")
            admin.fill("#password", "Admin1234")
            admin.click("button[type=submit]")
            admin.goto(site + "/admin/institutions/new/")
            admin.fill("#name", "学院路社区卫生服务中心")
            admin.fill("#code", "XUEYUAN_CHC")
            admin.fill("#address", ADDRESS)
            admin.fill("#district", "西湖区")
            admin.check("input[name=device_types][value=PICC]")
            admin.check("input[name=services][value=PICC_MAINT]")
            admin.fill("#opening_hours", "周一至周五 08:00-17:00")
            admin.fill("#phone", "0571-88776655")
            admin.click("input.btn-primary[type=submit]")  # 保存
            try:
                admin.locator(".alert", has_text="已按地址解析").wait_for()
            except Exception as exc:  # say what the page showed instead (a form error?)
                body = admin.inner_text("body")[:1500]
                raise AssertionError(f"no geocoded notice after saving; the page: {body}") from exc
            admin_context.close()

            # the patient opens the nearby page in WeChat
            phone = browser.new_context(
                viewport={"width": 400, "height": 760},
                locale="zh-CN",
                user_agent=WECHAT_UA,
                is_mobile=True,
                has_touch=True,
            )
            phone.add_cookies([{"name": "sim_mp_user", "value": "o_qian", "url": sim.url}])
            phone.route("https://res.wx.qq.com/**", lambda route: route.abort())
            phone.add_init_script(FAKE_WX)
            page = phone.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(site + "/h5/nearby")
            place = page.locator(".place", has_text="学院路社区卫生服务中心")
            place.wait_for()
            assert page.evaluate("window.__locationType") == "gcj02"
            assert page.evaluate("window.__wxConfig.jsApiList") == ["getLocation", "openLocation"]
            assert f"约{expected:.1f}公里" in place.inner_text()
            assert place.locator("a[href='tel:0571-88776655']").count() == 1
            assert page.locator("#locating").is_hidden()
            place.locator("a.map").click()
            opened = page.evaluate("window.__opened")
            assert opened["latitude"] == pytest.approx(30.279)
            assert opened["longitude"] == pytest.approx(120.133)
            assert opened["name"] == "学院路社区卫生服务中心" and opened["scale"] == 16
            phone.close()
            assert not errors, errors


@pytest.mark.req("P5.1")
def test_p5_1_outside_wechat_the_page_asks_for_the_district(
    settings, engine, redis_conn, session, browser
):
    session.add(
        Institution(
            code="C1",
            name="西湖区某门诊",
            district="西湖区",
            device_types=["PICC"],
            services=["PICC_MAINT"],
            latitude=30.27,
            longitude=120.13,
        )
    )
    account = PatientAccount(openid="o_desk")
    session.add(account)
    session.commit()
    with LiveSim(sim_config(settings)) as sim:
        holder = {}
        with serve(lambda environ, start: holder["app"](environ, start)) as site:
            holder["app"] = create_app(
                replace(settings, wechat_api_base=sim.mp_api_base, public_base_url=site)
            )
            context = browser.new_context(locale="zh-CN")
            context.add_cookies([{"name": "sim_mp_user", "value": "o_desk", "url": sim.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(site + "/h5/nearby")
            page.locator("label[for=district]", has_text="您在哪个区县").wait_for()
            page.fill("#district", "西湖区")
            page.click("#district-form button[type=submit]")
            page.locator(".place", has_text="西湖区某门诊").wait_for()
            context.close()
            assert not errors, errors
