"""In headless Chromium, the patient's journey through the simulators: open the home page from
the official account, accept the agreements, bind through the internet hospital's login and
consent pages, see the 就诊人, switch to another one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.models import Agreement, utcnow
from bot.models.enums import AgreementKind
from devtools.ih_sim import create_ih_sim_app
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.support.callbacks import sim_config
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]


@pytest.mark.req("P1.1", "P1.3", "P2.1")
def test_follower_accepts_binds_sees_two_profiles_and_switches(
    settings, engine, redis_conn, session, page
):
    session.add_all(
        [
            Agreement(
                kind=AgreementKind.SERVICE,
                version=1,
                title="服务协议",
                body="服务协议正文",
                published_at=utcnow(),
            ),
            Agreement(
                kind=AgreementKind.PRIVACY,
                version=1,
                title="隐私政策",
                body="隐私政策正文",
                published_at=utcnow(),
            ),
        ]
    )
    session.commit()
    with LiveSim(sim_config(settings)) as sim, serve(create_ih_sim_app()) as ih:
        live = replace(
            settings,
            wechat_api_base=sim.mp_api_base,
            internet_hospital_base=ih,
            internet_hospital_client_id="vam-dev",
            internet_hospital_client_secret="vam-dev-secret",
        )
        holder = {}  # the app is built once its address (its PUBLIC_BASE_URL) is known
        with serve(lambda environ, start: holder["app"](environ, start)) as site:
            holder["app"] = create_app(replace(live, public_base_url=site))
            page.goto(site + "/h5/bind")  # the menu's 绑定就诊人 (a view button)
            page.locator("h1", has_text="请阅读并同意").wait_for()
            page.click("button:text-is('我已阅读并同意')")
            page.locator("h1", has_text="互联网医院 · 登录").wait_for()
            page.fill("input[name=username]", "zhangsan")
            page.fill("input[name=password]", "123456")
            page.click("button:text-is('登录')")
            page.click("button:text-is('同意授权')")
            page.locator("[role=status]", has_text="已导入 3 位就诊人").wait_for()
            page.click("text=进入我的首页")
            page.locator("h1", has_text="张三（本人）").wait_for()
            page.select_option("#profile_id", label="王桂芳（配偶）")
            page.click("button:text-is('切换')")
            page.locator("h1", has_text="王桂芳（配偶）").wait_for()
