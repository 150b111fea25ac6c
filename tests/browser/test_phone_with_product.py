"""The simulator's phone page against the real product (web + worker processes), with a
Rasa-protocol test double: a patient sends a text and sees the reply; a clinician scans a
QR image and the product receives the scan as a dialogue intent."""

from __future__ import annotations

from dataclasses import replace

import pytest
import qrcode

from devtools.wechat_sim.server import LiveSim
from tests.support import processes
from tests.support.callbacks import sim_config
from tests.support.fake_rasa import FakeRasa
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def system(settings, engine, tmp_path):
    rasa = FakeRasa()
    port = processes.free_port()
    with serve(rasa.app) as rasa_url:
        cfg = sim_config(settings)
        cfg.product_base_url = f"http://127.0.0.1:{port}"
        with LiveSim(cfg) as sim:
            live = replace(
                settings,
                wechat_api_base=sim.mp_api_base,
                wecom_api_base=sim.work_api_base,
                rasa_url=rasa_url,
            )
            instance = tmp_path / "instance"
            env = processes.product_env(live, instance)
            if settings.redis_url:
                from bot.infra.redis import connect

                connect(settings).flushdb()
            try:
                with processes.web(env, port), processes.worker(env):
                    yield sim, rasa
            finally:
                processes.stop_embedded_redis(instance)


def test_patient_sends_a_text_and_sees_the_reply(system, page):
    sim, rasa = system
    page.goto(sim.url + "/phone")
    page.fill("#text", "我的导管什么时候维护")
    page.click("#send")
    page.locator(".row.user .bubble", has_text="我的导管什么时候维护").wait_for(timeout=5000)
    page.locator(".row.bot .bubble", has_text="收到：我的导管什么时候维护").wait_for(timeout=15000)
    assert rasa.messages_of("mp:o_sim_patient_1") == ["我的导管什么时候维护"]


def test_clinician_scans_a_qr_image(system, page, tmp_path):
    sim, rasa = system
    png = tmp_path / "catheter-qr.png"
    qrcode.make("http://127.0.0.1:5000/q/tok123").save(png)
    page.goto(sim.url + "/phone?role=work")
    page.click("#menubar button:text-is('扫码')")
    page.locator("#dlg-scan").wait_for(state="visible")
    page.set_input_files("#dlg-scan input[type=file]", str(png))
    page.wait_for_function(
        "document.querySelector('#dlg-scan textarea').value.includes('/q/tok123')", timeout=5000
    )
    page.click("#dlg-scan button[value=ok]")
    page.locator(".row.bot .bubble", has_text="scan_qr").wait_for(timeout=15000)
    [message] = rasa.messages_of("work:n0001")
    assert message.startswith("/scan_qr") and "http://127.0.0.1:5000/q/tok123" in message
