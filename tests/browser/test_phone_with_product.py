"""The simulator's phone page against the real product (web + worker processes), with a
Rasa-protocol test double: a patient sends a text and sees the reply; a clinician scans a
QR image and the product receives the scan as a dialogue intent."""

from __future__ import annotations

import pytest
import qrcode

from tests.support.system import product_with_simulators

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def system(settings, engine, tmp_path):
    with product_with_simulators(settings, tmp_path / "instance", worker=True) as (sim, rasa, _env):
        yield sim, rasa


def test_patient_sends_a_text_and_sees_the_reply(system, page):
    sim, rasa = system
    page.goto(sim.url + "/phone")
    page.fill("#text", "我的导管什么时候维护")
    page.click("#send")
    page.locator(".row.user .bubble", has_text="我的导管什么时候维护").wait_for(timeout=5000)
    page.locator(".row.bot .bubble", has_text="收到：我的导管什么时候维护").wait_for(timeout=15000)
    assert rasa.messages_of("mp:o_sim_patient_1") == ["我的导管什么时候维护"]


@pytest.mark.req("C2.1")
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
