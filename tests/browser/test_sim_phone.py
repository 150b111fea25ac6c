"""The simulator's phone page in real headless Chromium, against a tiny fake product."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, request
from wechatpy import parse_message as parse_mp
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise import parse_message as parse_work
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.utils import check_signature
from werkzeug.serving import make_server

from devtools.wechat_sim import LiveSim, SimConfig, start_live_sim

pytestmark = pytest.mark.browser


class FakeProduct:
    """Verifies the signature, decrypts with wechatpy and records every callback."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.received: list[Any] = []
        app = Flask("fake_product")
        app.add_url_rule("/wechat/mp", "mp", self.mp, methods=["POST"])
        app.add_url_rule("/wechat/work", "work", self.work, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def mp(self) -> str:
        cfg, a = self.config, request.args
        check_signature(cfg.mp_token, a["signature"], a["timestamp"], a["nonce"])
        crypto = MpCrypto(cfg.mp_token, cfg.mp_aes_key, cfg.mp_appid)
        xml = crypto.decrypt_message(request.data, a["msg_signature"], a["timestamp"], a["nonce"])
        self.received.append(parse_mp(xml))
        return "success"

    def work(self) -> str:
        cfg, a = self.config, request.args
        crypto = WorkCrypto(cfg.work_token, cfg.work_aes_key, cfg.work_corp_id)
        xml = crypto.decrypt_message(request.data, a["msg_signature"], a["timestamp"], a["nonce"])
        self.received.append(parse_work(xml))
        return "success"

    def wait_for(self, predicate, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in list(self.received):
                if predicate(msg):
                    return msg
            time.sleep(0.05)
        raise AssertionError(f"the product received no such callback: {self.received!r}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup() -> Iterator[tuple[LiveSim, FakeProduct]]:
    config = SimConfig()
    product = FakeProduct(config)
    config.product_base_url = product.url
    sim = start_live_sim(config)
    yield sim, product
    sim.stop()
    product.stop()


def work_token(sim: LiveSim) -> str:
    cfg = sim.config
    return str(
        requests.get(
            sim.work_api_base + "/cgi-bin/gettoken",
            params={"corpid": cfg.work_corp_id, "corpsecret": cfg.work_secret},
            timeout=5,
        ).json()["access_token"]
    )


def bot_reply(sim: LiveSim, openid: str, text: str) -> None:
    """What the product would do: a customer-service message through the (fake) MP API."""
    cfg = sim.config
    token = requests.get(
        sim.mp_api_base + "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": cfg.mp_appid, "secret": cfg.mp_secret},
        timeout=5,
    ).json()["access_token"]
    result = requests.post(
        sim.mp_api_base + "/cgi-bin/message/custom/send",
        params={"access_token": token},
        json={"touser": openid, "msgtype": "text", "text": {"content": text}},
        timeout=5,
    ).json()
    assert result["errcode"] == 0, result


def test_patient_chats_and_sees_the_bot_reply(setup, page):
    sim, product = setup
    page.goto(sim.url + "/phone")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#title").inner_text() == "静脉通路管理"
    assert page.locator("#role option:checked").inner_text() == "患者（公众号）"
    menu = page.locator("#menubar > .menu-item > button").all_inner_texts()
    assert [m.replace("≡", "").strip() for m in menu] == ["血管通路", "我的导管", "更多"]

    page.fill("#text", "我的PICC什么时候维护？")
    page.click("#send")
    page.locator(".row.user .bubble", has_text="我的PICC什么时候维护？").wait_for(timeout=5000)

    msg = product.wait_for(lambda m: m.type == "text")
    assert msg.content == "我的PICC什么时候维护？" and msg.source == "o_sim_patient_1"

    bot_reply(sim, msg.source, "下次维护：5月1日，详见 http://example.com/plan")
    reply = page.locator(".row.bot .bubble", has_text="下次维护：5月1日")
    reply.wait_for(timeout=5000)
    assert reply.locator("a").get_attribute("href") == "http://example.com/plan"

    # a menu click becomes a CLICK event
    page.click("#menubar button:text-is('我的导管')")
    click = product.wait_for(lambda m: m.type == "event" and m.event == "click")
    assert click.key == "my_catheter"


def test_clinician_pastes_a_qr_text_to_scan(setup, page):
    sim, product = setup
    page.goto(sim.url + "/phone?role=work")
    assert page.locator("#title").inner_text() == "静脉通路助手"
    assert page.locator("#userid").input_value() == "n0001"

    page.click("#menubar button:text-is('扫码')")
    page.locator("#dlg-scan").wait_for(state="visible")
    page.fill("#dlg-scan textarea", "http://127.0.0.1:5000/q/abc.def")
    page.click("#dlg-scan button[value=ok]")

    scan = product.wait_for(lambda m: m.type == "event" and m.event == "scancode_waitmsg")
    assert scan.scan_result == "http://127.0.0.1:5000/q/abc.def"
    assert scan.scan_type == "qrcode" and scan.key == "scan_patient" and scan.source == "n0001"
    page.locator(".notice", has_text="扫码：http://127.0.0.1:5000/q/abc.def").wait_for(timeout=5000)


def test_template_card_button_posts_a_card_event(setup, page):
    sim, product = setup
    cfg = sim.config
    token = work_token(sim)
    card = {
        "card_type": "button_interaction",
        "task_id": "maint_42",
        "main_title": {"title": "PICC 维护确认", "desc": "患者 张*三"},
        "horizontal_content_list": [{"keyname": "导管", "value": "PICC 右上臂"}],
        "button_list": [{"text": "已维护", "style": 1, "key": "done"}],
    }
    sent = requests.post(
        sim.work_api_base + "/cgi-bin/message/send",
        params={"access_token": token},
        json={
            "touser": "n0001",
            "agentid": cfg.work_agent_id,
            "msgtype": "template_card",
            "template_card": card,
        },
        timeout=5,
    ).json()
    assert sent["errcode"] == 0

    page.goto(sim.url + "/phone?role=work&user=n0001")
    page.locator(".tcard", has_text="PICC 维护确认").wait_for(timeout=5000)
    page.click(".tcard button:text-is('已维护')")
    event = product.wait_for(lambda m: m._data.get("Event") == "template_card_event")
    assert event._data["TaskId"] == "maint_42" and event._data["EventKey"] == "done"

    # the product answers with update_template_card using the click's response code
    update = requests.post(
        sim.work_api_base + "/cgi-bin/message/update_template_card",
        params={"access_token": token},
        json={
            "userids": ["n0001"],
            "agentid": cfg.work_agent_id,
            "response_code": event._data["ResponseCode"],
            "button": {"replace_name": "已处理"},
        },
        timeout=5,
    ).json()
    assert update["errcode"] == 0
    page.locator(".tcard button:disabled", has_text="已处理").wait_for(timeout=5000)


def test_a_failed_callback_shows_in_the_chat(browser, page):
    config = SimConfig(product_base_url="http://127.0.0.1:9")  # nothing listens there
    with start_live_sim(config) as sim:
        page.goto(sim.url + "/phone")
        page.fill("#text", "有人吗")
        page.click("#send")
        page.locator(".row.user .bubble", has_text="有人吗").wait_for(timeout=5000)
        page.locator(".notice.error", has_text="回调失败").wait_for(timeout=8000)


AMR = b"#!AMR\n" + b"\x3c" + bytes(31) * 10
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def work_call(sim: LiveSim, token: str, api: str, **kw: Any) -> dict[str, Any]:
    result = requests.post(
        f"{sim.work_api_base}/cgi-bin/{api}", params={"access_token": token}, timeout=5, **kw
    ).json()
    assert result["errcode"] == 0, result
    return result


@pytest.mark.req("C5.1")
def test_c5_1_phone_shows_a_group_chat_with_every_message_type(setup, page, tmp_path):
    sim, product = setup
    token = work_token(sim)
    chat = {"chatid": "hz1", "name": "会诊·ZS·PICC·1", "owner": "x0001"}
    work_call(sim, token, "appchat/create", json=chat | {"userlist": ["x0001", "n0001", "d0001"]})

    def upload(kind: str, name: str, data: bytes) -> str:
        files = {"media": (name, data)}
        return str(work_call(sim, token, f"media/upload?type={kind}", files=files)["media_id"])

    def send(msgtype: str, body: dict[str, Any]) -> None:
        work_call(
            sim, token, "appchat/send", json={"chatid": "hz1", "msgtype": msgtype, msgtype: body}
        )

    card = {
        "title": "会诊病例",
        "description": "PICC 右上臂，穿刺点红肿",
        "url": "http://h5/case/1",
    }
    send("textcard", card)
    send("image", {"media_id": upload("image", "p.png", PNG)})
    send("voice", {"media_id": upload("voice", "v.amr", AMR)})
    send("video", {"media_id": upload("video", "v.mp4", MP4)})
    send("file", {"media_id": upload("file", "report.pdf", b"%PDF-1.4 x")})
    send("markdown", {"content": "**会诊结论**：拔管"})

    page.goto(sim.url + "/phone?role=work&user=x0001")
    page.locator("#conv option[value=hz1]").wait_for(state="attached", timeout=8000)
    assert page.locator("#conv option[value=hz1]").inner_text() == "群聊：会诊·ZS·PICC·1（3人）"
    page.select_option("#conv", "hz1")
    page.locator("#chatinfo-name", has_text="会诊·ZS·PICC·1").wait_for(timeout=5000)
    assert page.locator("#chatinfo-count").inner_text() == "3 位成员 · 群主 x0001"
    page.click("#chatinfo summary")
    assert page.locator("#chatinfo-members li").all_inner_texts() == [
        "x0001（群主）",
        "n0001",
        "d0001",
    ]
    tc = page.locator(".card.tc", has_text="会诊病例")
    tc.wait_for(timeout=5000)
    assert "穿刺点红肿" in tc.inner_text()
    assert tc.locator("a").get_attribute("href") == "http://h5/case/1"
    page.locator("img.thumb").wait_for(timeout=5000)
    voice = page.locator(".bubble[data-kind=voice]")
    assert "语音" in voice.inner_text()
    href = voice.locator("a").get_attribute("href")
    assert requests.get(sim.url + href, timeout=5).content == AMR
    assert page.locator(".bubble[data-kind=video] video").count() == 1
    assert page.locator(".bubble .file a").inner_text() == "report.pdf"
    assert page.locator(".md b").inner_text() == "会诊结论"

    # a member talks in the group: shown with the sender, never sent to the product
    page.fill("#text", "同意拔管")
    page.click("#send")
    page.locator(".row.user .sender", has_text="x0001").wait_for(timeout=5000)
    assert product.received == []

    # back in the app's own chat, the member sends a voice note
    page.select_option("#conv", "")
    amr = tmp_path / "note.amr"
    amr.write_bytes(AMR)
    page.set_input_files("#voice-file", str(amr))
    msg = product.wait_for(lambda m: m.type == "voice")
    assert msg.source == "x0001" and msg.format == "amr"
    page.locator(".row.user .bubble[data-kind=voice]").wait_for(timeout=5000)
