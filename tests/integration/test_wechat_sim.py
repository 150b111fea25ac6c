"""The WeChat / WeChat Work simulator, driven in-process and through wechatpy's real clients."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from flask import Flask, request
from wechatpy import WeChatClient
from wechatpy import parse_message as parse_mp
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise import WeChatClient as WorkClient
from wechatpy.enterprise import parse_message as parse_work
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
from wechatpy.exceptions import WeChatClientException
from wechatpy.utils import check_signature
from werkzeug.serving import make_server

from devtools.wechat_sim import (
    LiveSim,
    ManualClock,
    SimConfig,
    SimState,
    callbacks,
    create_sim_app,
    start_live_sim,
)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
OPENID = "o_sim_patient_1"


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
def config() -> SimConfig:
    return SimConfig()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def state(config: SimConfig, clock: ManualClock) -> SimState:
    return SimState(config, clock=clock)


@pytest.fixture
def client(state: SimState):
    return create_sim_app(state=state).test_client()


@pytest.fixture
def live(state: SimState) -> Iterator[LiveSim]:
    sim = start_live_sim(state=state)
    yield sim
    sim.stop()


def mp_client_class(api_base: str) -> type[WeChatClient]:
    """wechatpy's official-account client pointed at the simulator (token fetch included)."""

    class SimMpClient(WeChatClient):
        API_BASE_URL = f"{api_base}/cgi-bin/"

        def fetch_access_token(self) -> dict[str, Any]:
            return self._fetch_access_token(
                url=f"{api_base}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                },
            )

    return SimMpClient


def work_client_class(api_base: str) -> type[WorkClient]:
    class SimWorkClient(WorkClient):
        API_BASE_URL = f"{api_base}/cgi-bin/"

        def fetch_access_token(self) -> dict[str, Any]:
            return self._fetch_access_token(
                url=f"{api_base}/cgi-bin/gettoken",
                params={"corpid": self.corp_id, "corpsecret": self.secret},
            )

    return SimWorkClient


@pytest.fixture
def mp(live: LiveSim, config: SimConfig) -> WeChatClient:
    return mp_client_class(live.mp_api_base)(config.mp_appid, config.mp_secret, timeout=10)


@pytest.fixture
def work(live: LiveSim, config: SimConfig) -> WorkClient:
    return work_client_class(live.work_api_base)(
        config.work_corp_id, config.work_secret, timeout=10
    )


def errcode_of(fn, *args: Any, **kwargs: Any) -> int | None:
    with pytest.raises(WeChatClientException) as info:
        fn(*args, **kwargs)
    return None if info.value.errcode is None else int(info.value.errcode)


def mp_token(client, config: SimConfig) -> str:
    resp = client.get(
        "/mp/cgi-bin/token",
        query_string={
            "grant_type": "client_credential",
            "appid": config.mp_appid,
            "secret": config.mp_secret,
        },
    )
    return resp.get_json()["access_token"]


def work_token(client, config: SimConfig) -> str:
    resp = client.get(
        "/work/cgi-bin/gettoken",
        query_string={"corpid": config.work_corp_id, "corpsecret": config.work_secret},
    )
    return resp.get_json()["access_token"]


# ---------------------------------------------------------------------- tokens and recording
def test_token_and_custom_send_are_recorded(mp: WeChatClient, state: SimState, live: LiveSim):
    state.windows.user_message(OPENID)
    result = mp.message.send_text(OPENID, "您好，导管维护时间到了")
    assert result == {"errcode": 0, "errmsg": "ok"}

    token_calls = state.api_calls.find("mp", "/cgi-bin/token")
    assert len(token_calls) == 1 and token_calls[0]["response"]["expires_in"] == 7200
    sends = state.api_calls.find("mp", "/mp/cgi-bin/message/custom/send")
    assert len(sends) == 1
    assert sends[0]["method"] == "POST"
    assert sends[0]["body"] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "您好，导管维护时间到了"},
    }
    assert sends[0]["params"]["access_token"] == token_calls[0]["response"]["access_token"]

    over_http = requests.get(
        live.url + "/_sim/calls",
        params={"channel": "mp", "path": "/cgi-bin/message/custom/send"},
        timeout=5,
    ).json()["calls"]
    assert [c["seq"] for c in over_http] == [sends[0]["seq"]]
    delivered = requests.get(
        live.url + "/_sim/messages", params={"channel": "mp", "user": OPENID}, timeout=5
    ).json()["messages"]
    assert [(m["msgtype"], m["payload"]["content"]) for m in delivered] == [
        ("text", "您好，导管维护时间到了")
    ]


def test_wrong_credentials_are_refused(live: LiveSim, config: SimConfig):
    bad_secret = mp_client_class(live.mp_api_base)(config.mp_appid, "nope")
    assert errcode_of(bad_secret.fetch_access_token) == 40001
    bad_appid = mp_client_class(live.mp_api_base)("wx_other", config.mp_secret)
    assert errcode_of(bad_appid.fetch_access_token) == 40013
    bad_corp = work_client_class(live.work_api_base)(config.work_corp_id, "nope")
    assert errcode_of(bad_corp.fetch_access_token) == 40001
    bad_corpid = work_client_class(live.work_api_base)("ww_other", config.work_secret)
    assert errcode_of(bad_corpid.fetch_access_token) == 40013


def test_access_token_is_checked_on_every_call(client, config: SimConfig):
    body = json.dumps({"touser": OPENID, "msgtype": "text", "text": {"content": "x"}})
    url = "/mp/cgi-bin/message/custom/send"
    assert client.post(url, data=body).get_json()["errcode"] == 41001
    assert client.post(url + "?access_token=forged", data=body).get_json()["errcode"] == 40014
    work = work_token(client, config)
    # a WeChat Work token is not an official-account token
    assert client.post(f"{url}?access_token={work}", data=body).get_json()["errcode"] == 40014


def test_expired_tokens_answer_42001_and_wechatpy_refreshes(
    mp: WeChatClient, state: SimState, live: LiveSim, clock: ManualClock
):
    state.windows.user_message(OPENID)
    mp.message.send_text(OPENID, "一")
    old = state.api_calls.find("mp", "/cgi-bin/token")[-1]["response"]["access_token"]
    assert requests.post(live.url + "/_sim/expire-tokens", timeout=5).json()["ok"]

    raw = requests.get(
        live.mp_api_base + "/cgi-bin/user/info",
        params={"access_token": old, "openid": OPENID},
        timeout=5,
    ).json()
    assert raw["errcode"] == 42001

    # wechatpy's client sees 42001, fetches a new token and retries
    mp.message.send_text(OPENID, "二")
    assert state.tokens.fetches("mp") == 2
    assert [m["payload"]["content"] for m in state.conversations.messages("mp", OPENID)] == [
        "一",
        "二",
    ]

    # tokens also expire by themselves after 7200 s
    fresh = state.api_calls.find("mp", "/cgi-bin/token")[-1]["response"]["access_token"]
    clock.advance(7200)
    assert state.tokens.check("mp", fresh) == 42001


# ---------------------------------------------------------------------- customer-service window
def test_custom_send_needs_an_open_window(mp: WeChatClient, state: SimState, clock: ManualClock):
    # never wrote to the account
    assert errcode_of(mp.message.send_text, "o_never_wrote", "hi") == 45015

    state.windows.user_message(OPENID)
    for i in range(5):
        mp.message.send_text(OPENID, f"第{i + 1}条")
    assert errcode_of(mp.message.send_text, OPENID, "第6条") == 45047

    # a new message from the patient opens a new allowance
    state.windows.user_message(OPENID)
    mp.message.send_text(OPENID, "新窗口")

    # 48 hours later the window is closed
    clock.advance(48 * 3600 + 1)
    assert errcode_of(mp.message.send_text, OPENID, "太晚了") == 45015
    assert len(state.conversations.messages("mp", OPENID)) == 6


def test_a_menu_click_allows_three_messages_within_a_minute(client, config, clock):
    token = mp_token(client, config)
    assert client.post("/_sim/user-message", json={"openid": OPENID, "kind": "event"}).json["ok"]

    def send() -> int:
        body = {"touser": OPENID, "msgtype": "text", "text": {"content": "菜单回复"}}
        resp = client.post(f"/mp/cgi-bin/message/custom/send?access_token={token}", json=body)
        return resp.get_json()["errcode"]

    assert [send() for _ in range(4)] == [0, 0, 0, 45047]
    client.post("/_sim/user-message", json={"openid": OPENID, "kind": "event"})
    clock.advance(61)
    assert send() == 45015


def test_template_messages_ignore_the_window_and_subscribe_needs_consent(mp, state):
    data = {"thing1": {"value": "PICC 维护"}, "time2": {"value": "2024-05-01 09:00"}}
    result = mp.message.send_template("o_silent", "TPL_REMIND", data, url="http://h5/x")
    assert result["errcode"] == 0 and result["msgid"]
    [msg] = state.conversations.messages("mp", "o_silent")
    assert msg["msgtype"] == "template" and msg["payload"]["data"] == data

    assert errcode_of(mp.message.send_subscribe_message, "o_silent", "SUB1", data) == 43101
    state.subscriptions.accept("o_silent", "SUB1")
    mp.message.send_subscribe_message("o_silent", "SUB1", data)
    assert state.conversations.messages("mp", "o_silent")[-1]["msgtype"] == "subscribe"

    too_long = {"thing1": {"value": "超" * 21}}
    assert errcode_of(mp.message.send_subscribe_message, "o_silent", "SUB1", too_long) == 47003


def test_bad_payloads_get_wechat_errcodes(client, config):
    token = mp_token(client, config)
    url = f"/mp/cgi-bin/message/custom/send?access_token={token}"
    assert client.post(url, data=b"").get_json()["errcode"] == 44002
    assert client.post(url, data=b"{not json").get_json()["errcode"] == 47001
    assert client.post(url, json={"touser": OPENID}).get_json()["errcode"] == 40008
    assert client.post(url, json={"msgtype": "text", "text": {}}).get_json()["errcode"] == 40003
    image = {"touser": OPENID, "msgtype": "image", "image": {"media_id": "nope"}}
    assert client.post(url, json=image).get_json()["errcode"] == 40007
    two = {
        "touser": OPENID,
        "msgtype": "news",
        "news": {"articles": [{"title": "a", "url": "u"}, {"title": "b", "url": "u"}]},
    }
    assert client.post(url, json=two).get_json()["errcode"] == 45008


# ---------------------------------------------------------------------- faults
def test_injected_faults_fail_the_next_calls(mp: WeChatClient, state: SimState, live: LiveSim):
    state.windows.user_message(OPENID)
    path = "/mp/cgi-bin/message/custom/send"
    resp = requests.post(
        live.url + "/_sim/faults", json={"path": path, "errcode": 45009, "times": 2}, timeout=5
    )
    assert resp.json()["ok"]
    assert errcode_of(mp.message.send_text, OPENID, "a") == 45009
    assert errcode_of(mp.message.send_text, OPENID, "b") == 45009
    mp.message.send_text(OPENID, "c")  # the fault is used up

    requests.post(
        live.url + "/_sim/faults", json={"path": path, "errcode": -1, "times": 1}, timeout=5
    )
    assert errcode_of(mp.message.send_text, OPENID, "d") == -1

    requests.post(
        live.url + "/_sim/faults", json={"path": path, "http_status": 500, "times": 1}, timeout=5
    )
    assert errcode_of(mp.message.send_text, OPENID, "e") is None  # HTTP 500, no JSON

    requests.post(live.url + "/_sim/faults", json={"path": path, "errcode": 45009}, timeout=5)
    requests.delete(live.url + "/_sim/faults", timeout=5)
    mp.message.send_text(OPENID, "f")

    faulty = [c for c in state.api_calls.find("mp", path) if c["fault"]]
    assert [c["response"].get("errcode") for c in faulty] == [45009, 45009, -1, None]
    assert [m["payload"]["content"] for m in state.conversations.messages("mp", OPENID)] == [
        "c",
        "f",
    ]


def test_a_42001_fault_makes_wechatpy_fetch_a_new_token(mp: WeChatClient, state: SimState):
    state.windows.user_message(OPENID)
    mp.message.send_text(OPENID, "first")
    state.faults.add("/mp/cgi-bin/message/custom/send", 42001)
    mp.message.send_text(OPENID, "second")
    assert state.tokens.fetches("mp") == 2


# ---------------------------------------------------------------------- media
def test_media_upload_then_get_returns_the_same_bytes(mp, work, live: LiveSim, state: SimState):
    uploaded = mp.media.upload("image", ("photo.png", PNG, "image/png"))
    assert uploaded["type"] == "image" and isinstance(uploaded["created_at"], int)
    downloaded = mp.media.download(uploaded["media_id"])
    assert downloaded.content == PNG
    assert downloaded.headers["Content-Type"] == "image/png"
    assert errcode_of(mp.media.download, "no-such-media") == 40007

    w = work.media.upload("image", ("report.png", PNG, "image/png"))
    assert w["errcode"] == 0 and isinstance(w["created_at"], str)
    token = state.api_calls.find("work", "/cgi-bin/gettoken")[-1]["response"]["access_token"]
    got = requests.get(
        live.work_api_base + "/cgi-bin/media/get",
        params={"access_token": token, "media_id": w["media_id"]},
        timeout=5,
    )
    assert got.content == PNG
    # each platform has its own media
    assert errcode_of(mp.media.download, w["media_id"]) == 40007


# ---------------------------------------------------------------------- WeChat Work messages
def test_work_message_send_delivers_every_type(work: WorkClient, state: SimState, config):
    agent = config.work_agent_id
    work.message.send_text(agent, ["n0001", "d0001"], "会诊请求")
    work.message.send_markdown(agent, "n0001", "**今日待维护** 3 人")
    work.message.send_text_card(
        agent, "n0001", "维护提醒", '<div class="gray">今天</div>', "http://h5"
    )
    work.message.send_articles(
        agent, "n0001", [{"title": "指南", "description": "d", "url": "http://x", "image": ""}]
    )
    assert [m["msgtype"] for m in state.conversations.messages("work", "n0001")] == [
        "text",
        "markdown",
        "textcard",
        "news",
    ]
    assert [m["payload"]["content"] for m in state.conversations.messages("work", "d0001")] == [
        "会诊请求"
    ]

    # a department reaches its members
    work.message.send_text(agent, [], "护理部通知", party_ids=["2"])
    assert state.conversations.messages("work", "n0002")[-1]["payload"]["content"] == "护理部通知"

    assert errcode_of(work.message.send_text, "9999", "n0001", "x") == 40056
    assert errcode_of(work.message.send, agent, "n0001", msg={"msgtype": "nope"}) == 40008


def test_duplicate_check_accepts_but_does_not_deliver_twice(work, state, clock, config):
    msg = {
        "msgtype": "text",
        "text": {"content": "导管到期提醒"},
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 600,
    }
    first = work.message.send(config.work_agent_id, "n0001", msg=msg)
    second = work.message.send(config.work_agent_id, "n0001", msg=msg)
    assert first["errcode"] == second["errcode"] == 0
    assert len(state.conversations.messages("work", "n0001")) == 1
    assert state.work_sends.dropped()[0]["reason"] == "duplicate"

    # another recipient is not a duplicate
    work.message.send(config.work_agent_id, "d0001", msg=msg)
    assert len(state.conversations.messages("work", "d0001")) == 1

    clock.advance(601)
    work.message.send(config.work_agent_id, "n0001", msg=msg)
    assert len(state.conversations.messages("work", "n0001")) == 2

    # without the check, the same content is delivered again
    plain = {"msgtype": "text", "text": {"content": "导管到期提醒"}}
    work.message.send(config.work_agent_id, "n0001", msg=plain)
    assert len(state.conversations.messages("work", "n0001")) == 3


def test_work_drops_messages_past_30_a_minute(work, state, config):
    for i in range(31):
        work.message.send_text(config.work_agent_id, "n0002", f"#{i}")
    assert len(state.conversations.messages("work", "n0002")) == 30
    assert state.work_sends.dropped()[-1]["reason"] == "rate_limit"


def test_template_card_send_and_update(work: WorkClient, state: SimState, config, client):
    card = {
        "card_type": "button_interaction",
        "task_id": "task_maint_1",
        "main_title": {"title": "PICC 维护确认"},
        "button_list": [{"text": "已维护", "style": 1, "key": "done"}],
    }
    result = work.message.send(
        config.work_agent_id, "n0001", msg={"msgtype": "template_card", "template_card": card}
    )
    assert result["response_code"]
    # the same task_id again is refused
    again = {"msgtype": "template_card", "template_card": card}
    assert errcode_of(work.message.send, config.work_agent_id, "n0001", msg=again) == 40058
    no_task = {"msgtype": "template_card", "template_card": {**card, "task_id": None}}
    assert errcode_of(work.message.send, config.work_agent_id, "n0001", msg=no_task) == 40058

    # the click (as the phone sends it) issues a response code usable once
    code = state.cards.issue_code("task_maint_1", "n0001")
    update = {
        "userids": ["n0001"],
        "agentid": int(config.work_agent_id),
        "response_code": code,
        "button": {"replace_name": "已处理"},
    }
    assert work.post("message/update_template_card", data=update)["errcode"] == 0
    [entry] = state.conversations.messages("work", "n0001")
    assert entry["card_update"] == {"replace_name": "已处理"} and entry["rev"] == 1
    assert errcode_of(work.post, "message/update_template_card", data=update) == 40058


def test_appchat_create_send_and_no_template_card(work: WorkClient, state: SimState):
    chatid = work.appchat.create(name="会诊：张*三", owner="n0001", user_list=["n0001", "d0001"])[
        "chatid"
    ]
    work.appchat.send_text(chatid, "请各位专家会诊")
    work.appchat.send(chatid, "markdown", content="**病例摘要**")
    assert [m["msgtype"] for m in state.conversations.messages("appchat", chatid)] == [
        "text",
        "markdown",
    ]
    assert state.chats.of_user("d0001")[0]["chatid"] == chatid

    card = {"chatid": chatid, "msgtype": "template_card", "template_card": {"card_type": "x"}}
    assert errcode_of(work.post, "appchat/send", data=card) == 40008
    assert errcode_of(work.appchat.send_text, "nochat", "x") == 86003
    assert errcode_of(work.appchat.create, name="one", user_list=["n0001"]) == 86007
    assert errcode_of(work.appchat.create, chat_id=chatid, user_list=["n0001", "d0001"]) == 86215


def test_directory_menu_and_oauth(work: WorkClient, mp: WeChatClient, state: SimState, config):
    assert work.user.get("n0001")["name"] == "王护士"
    assert errcode_of(work.user.get, "nobody") == 60111
    work.user.create("n0100", "新护士", department=[3])
    assert work.user.get("n0100")["department"] == [3]
    names = [d["name"] for d in work.department.get()]
    assert "血管通路护理门诊" in names

    menu = {"button": [{"type": "scancode_waitmsg", "name": "扫码", "key": "scan_patient"}]}
    work.menu.create(config.work_agent_id, menu)
    assert state.menus.get("work") == menu
    assert errcode_of(mp.menu.create, {"button": []}) == 40016
    mp.menu.create({"button": [{"type": "click", "name": "我的导管", "key": "my_catheter"}]})
    assert state.menus.get("mp")["button"][0]["key"] == "my_catheter"

    assert mp.user.get(OPENID)["subscribe"] == 1

    code = state.oauth.issue("work", "n0001")
    assert work.get("auth/getuserinfo", params={"code": code})["userid"] == "n0001"
    assert errcode_of(work.get, "auth/getuserinfo", params={"code": code}) == 40029


def test_oauth_redirects_back_with_a_code_for_the_phone_user(client, config):
    client.set_cookie("sim_work_user", "d0001")  # the phone page sets it for its user
    resp = client.get(
        "/work/connect/oauth2/authorize",
        query_string={
            "appid": config.work_corp_id,
            "redirect_uri": "http://product/h5/login",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "s1",
        },
    )
    assert resp.status_code == 302
    assert resp.location.startswith("http://product/h5/login?code=")
    code = resp.location.split("code=")[1].split("&")[0]
    token = work_token(client, config)
    info = client.get(f"/work/cgi-bin/auth/getuserinfo?access_token={token}&code={code}")
    assert info.get_json()["userid"] == "d0001"


# ---------------------------------------------------------------------- callback builders
def _decrypt_mp(config: SimConfig, cb: callbacks.SignedCallback) -> str:
    q = cb.query
    check_signature(config.mp_token, q["signature"], q["timestamp"], q["nonce"])
    crypto = MpCrypto(config.mp_token, config.mp_aes_key, config.mp_appid)
    return crypto.decrypt_message(cb.body, q["msg_signature"], q["timestamp"], q["nonce"])


def _decrypt_work(config: SimConfig, cb: callbacks.SignedCallback) -> str:
    q = cb.query
    crypto = WorkCrypto(config.work_token, config.work_aes_key, config.work_corp_id)
    return crypto.decrypt_message(cb.body, q["msg_signature"], q["timestamp"], q["nonce"])


def test_mp_callbacks_decrypt_and_parse_into_the_right_types(config: SimConfig):
    text = callbacks.mp_text(OPENID, "导管渗血了 ]]> 怎么办", to=config.mp_original_id)
    cb = callbacks.sign_mp(config, text)
    assert cb.path == "/wechat/mp" and cb.query["encrypt_type"] == "aes"
    assert cb.query["openid"] == OPENID and "<Encrypt>" in cb.body and "导管" not in cb.body
    msg = parse_mp(_decrypt_mp(config, cb))
    assert msg.type == "text" and msg.content == "导管渗血了 ]]> 怎么办"
    assert msg.source == OPENID and msg.target == config.mp_original_id
    assert 0 < msg.id < 2**64

    image = parse_mp(
        _decrypt_mp(
            config,
            callbacks.sign_mp(
                config, callbacks.mp_image(OPENID, "MEDIA1", "http://sim/_sim/media/MEDIA1")
            ),
        )
    )
    assert image.type == "image" and image.media_id == "MEDIA1"
    assert image.image == "http://sim/_sim/media/MEDIA1"

    loc = parse_mp(
        _decrypt_mp(
            config,
            callbacks.sign_mp(config, callbacks.mp_location(OPENID, 39.9, 116.4, label="医院")),
        )
    )
    assert loc.type == "location" and loc.location == ("39.9", "116.4") and loc.label == "医院"

    click = parse_mp(
        _decrypt_mp(config, callbacks.sign_mp(config, callbacks.mp_click(OPENID, "my_catheter")))
    )
    assert click.type == "event" and click.event == "click" and click.key == "my_catheter"
    assert click.id == 0  # events carry no MsgId

    scan = parse_mp(
        _decrypt_mp(config, callbacks.sign_mp(config, callbacks.mp_subscribe(OPENID, "cath42")))
    )
    assert scan.event == "subscribe_scan" and scan.scene_id == "cath42"

    ids = {parse_mp(callbacks.mp_text(OPENID, "x")).id for _ in range(200)}
    assert len(ids) == 200


def test_mp_plaintext_mode(config: SimConfig):
    plain = SimConfig(mp_aes_key="")
    cb = callbacks.sign_mp(plain, callbacks.mp_text(OPENID, "明文"))
    assert set(cb.query) == {"signature", "timestamp", "nonce", "openid"}
    check_signature(plain.mp_token, cb.query["signature"], cb.query["timestamp"], cb.query["nonce"])
    assert parse_mp(cb.body).content == "明文"


def test_work_callbacks_decrypt_and_parse_into_the_right_types(config: SimConfig):
    text = parse_work(
        _decrypt_work(
            config, callbacks.sign_work(config, callbacks.work_text("n0001", "今日待维护"))
        )
    )
    assert text.type == "text" and text.content == "今日待维护"
    assert text.agent == int(config.work_agent_id) and text.target == config.work_corp_id

    scan_xml = callbacks.work_scan("n0001", "scan_patient", "http://127.0.0.1:5000/q/abc.def")
    scan = parse_work(_decrypt_work(config, callbacks.sign_work(config, scan_xml)))
    assert scan.type == "event" and scan.event == "scancode_waitmsg"
    assert scan.key == "scan_patient" and scan.scan_type == "qrcode"
    assert scan.scan_result == "http://127.0.0.1:5000/q/abc.def"

    click = parse_work(
        _decrypt_work(
            config, callbacks.sign_work(config, callbacks.work_click("n0001", "due_today"))
        )
    )
    assert click.event == "click" and click.key == "due_today"

    loc = parse_work(
        _decrypt_work(
            config, callbacks.sign_work(config, callbacks.work_location("n0001", 31.2, 121.5))
        )
    )
    assert loc.type == "location" and loc.location == ("31.2", "121.5")

    card_xml = callbacks.work_template_card_event(
        "n0001", "task1", "done", "RC1", selected={"q1": ["o1", "o2"]}
    )
    card = parse_work(_decrypt_work(config, callbacks.sign_work(config, card_xml)))
    data = card._data  # wechatpy 1.8.18 has no class for template_card_event
    assert data["Event"] == "template_card_event" and data["TaskId"] == "task1"
    assert data["EventKey"] == "done" and data["ResponseCode"] == "RC1"
    assert data["SelectedItems"]["SelectedItem"]["OptionIds"]["OptionId"] == ["o1", "o2"]


def test_work_url_verification_query(config: SimConfig):
    q = callbacks.work_verify_query(config, "hello123")
    crypto = WorkCrypto(config.work_token, config.work_aes_key, config.work_corp_id)
    echo = crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
    assert echo in ("hello123", b"hello123")


# ---------------------------------------------------------------------- phone actions → product
@contextmanager
def serving(app: Flask, config: SimConfig) -> Iterator[None]:
    """Serve ``app`` on a free port as the product the simulator posts callbacks to."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config.product_base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def product(config: SimConfig) -> Iterator[dict[str, Any]]:
    """A tiny stand-in product: verifies, decrypts, records, and answers text with a passive
    (encrypted) reply."""
    seen: dict[str, Any] = {"messages": []}
    app = Flask("fake_product")

    @app.post("/wechat/mp")
    def mp_callback():
        a = request.args
        check_signature(config.mp_token, a["signature"], a["timestamp"], a["nonce"])
        crypto = MpCrypto(config.mp_token, config.mp_aes_key, config.mp_appid)
        msg = parse_mp(
            crypto.decrypt_message(request.data, a["msg_signature"], a["timestamp"], a["nonce"])
        )
        seen["messages"].append(msg)
        if msg.type == "text" and msg.content == "被动":
            from wechatpy.replies import TextReply

            reply = TextReply(message=msg, content="被动回复").render()
            return crypto.encrypt_message(reply, a["nonce"], a["timestamp"])
        return "success"

    @app.post("/wechat/work")
    def work_callback():
        return "nope", 502

    with serving(app, config):
        yield seen


def test_phone_actions_post_real_callbacks(client, state: SimState, product: dict[str, Any]):
    resp = client.post(
        "/_sim/phone/send", json={"channel": "mp", "user": OPENID, "kind": "text", "text": "你好"}
    )
    assert resp.get_json()["ok"] is True
    resp = client.post(
        "/_sim/phone/send", json={"channel": "mp", "user": OPENID, "kind": "text", "text": "被动"}
    )
    assert resp.get_json()["reply"]["payload"]["content"] == "被动回复"
    client.post(
        "/_sim/phone/send",
        json={"channel": "mp", "user": OPENID, "kind": "location", "lat": 30, "lon": 120},
    )
    photo = client.post(
        "/_sim/phone/photo",
        data={"channel": "mp", "user": OPENID, "file": (io.BytesIO(PNG), "a.png")},
        content_type="multipart/form-data",
    ).get_json()
    assert [m.type for m in product["messages"]] == ["text", "text", "location", "image"]
    assert product["messages"][-1].media_id == photo["media_id"]
    assert client.get(product["messages"][-1].image.replace("http://localhost", "")).data == PNG

    convo = state.conversations.messages("mp", OPENID, include_user=True)
    assert [(m["direction"], m["msgtype"]) for m in convo] == [
        ("user", "text"),
        ("user", "text"),
        ("bot", "text"),
        ("user", "location"),
        ("user", "image"),
    ]
    assert state.windows.of(OPENID)["message"]["left"] == 5  # the passive reply uses none

    # the WeChat Work endpoint of this product is broken: the failure shows in the chat
    bad = client.post(
        "/_sim/phone/send", json={"channel": "work", "user": "n0001", "kind": "text", "text": "x"}
    )
    assert bad.get_json()["error"].startswith("回调失败：HTTP 502")
    notes = [
        m
        for m in state.conversations.messages("work", "n0001", include_user=True)
        if m["direction"] == "system"
    ]
    assert notes[0]["payload"]["text"].startswith("回调失败：HTTP 502")
    assert [c["ok"] for c in state.callbacks.find()] == [True, True, True, True, False]


def test_phone_shows_an_error_when_the_product_is_down(state: SimState):
    state.config.product_base_url = "http://127.0.0.1:9"  # nothing listens there
    client = create_sim_app(state=state).test_client()
    result = client.post(
        "/_sim/phone/send", json={"channel": "mp", "user": OPENID, "kind": "click", "key": "k"}
    ).get_json()
    assert result["ok"] is False and result["error"].startswith("回调失败：无法连接")
    page = client.get("/phone").get_data(as_text=True)
    assert "患者（公众号）" in page and "医护（企业微信）" in page


# ---------------------------------------------------------------------- C5.1 group chats
AMR = b"#!AMR\n" + b"\x3c" + bytes(31) * 10  # an AMR-NB header and silent frames
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)
MB = 1 << 20


def set_sim_config(live: LiveSim, **settings: Any) -> None:
    resp = requests.post(f"{live.url}/_sim/config", json=settings, timeout=5)
    assert resp.json()["ok"] is True, resp.text


def make_chat(work: WorkClient, chat_id: str, *members: str) -> str:
    users = list(members or ("n0001", "d0001"))
    return str(work.appchat.create(chat_id=chat_id, name="会诊", user_list=users)["chatid"])


@pytest.mark.req("C5.1")
def test_c5_1_appchat_needs_the_app_visible_to_the_whole_corporation(work, live: LiveSim):
    chatid = make_chat(work, "vis1")
    set_sim_config(live, work_app_visible_to_all=False)
    assert errcode_of(work.appchat.create, name="x", user_list=["n0001", "d0001"]) == 60011
    assert errcode_of(work.appchat.update, "vis1", add_user_list=["n0002"]) == 60011
    assert errcode_of(work.appchat.send_text, chatid, "会诊") == 60011
    assert errcode_of(work.appchat.get, chatid) == 60011
    set_sim_config(live, work_app_visible_to_all=True)
    work.appchat.send_text(chatid, "会诊")
    calls = requests.get(f"{live.url}/_sim/appchat-calls", timeout=5).json()["calls"]
    assert [(c["api"], c["errcode"]) for c in calls] == [
        ("create", 0),
        ("create", 60011),
        ("update", 60011),
        ("send", 60011),
        ("get", 60011),
        ("send", 0),
    ]
    assert calls[0]["body"]["userlist"] == ["n0001", "d0001"]
    assert "access_token" not in calls[0]["params"]


@pytest.mark.req("C5.1")
def test_c5_1_at_most_n_new_group_chats_a_day(work, live: LiveSim, clock: ManualClock):
    set_sim_config(live, appchat_daily_create_limit=2)
    make_chat(work, "day1")
    make_chat(work, "day2")
    with pytest.raises(WeChatClientException) as info:
        make_chat(work, "day3")
    assert info.value.errcode == 45009 and "2 new group chats a day" in info.value.errmsg
    clock.advance(86400)  # the quota is per day
    assert make_chat(work, "day3") == "day3"


@pytest.mark.req("C5.1")
def test_c5_1_appchat_update_counts_member_changes_an_hour(work, live, clock: ManualClock):
    set_sim_config(live, appchat_hourly_change_limit=3)
    make_chat(work, "upd1")
    work.appchat.update("upd1", add_user_list=["n0002", "n0003"])  # 2 changes
    assert errcode_of(work.appchat.update, "upd1", del_user_list=["n0002", "n0003"]) == 45009
    work.appchat.update("upd1", name="会诊·改名")  # no member change: not counted
    clock.advance(3601)
    work.appchat.update("upd1", del_user_list=["n0002", "n0003"])
    assert work.appchat.get("upd1")["userlist"] == ["n0001", "d0001"]


@pytest.mark.req("C5.1")
def test_c5_1_appchat_members_owner_name_and_chatid_rules(work, state: SimState, config):
    users = ["n0001", "d0001"]
    assert errcode_of(work.appchat.create, owner="n0002", user_list=users) == 86005
    assert errcode_of(work.appchat.create, chat_id="bad-id!", user_list=users) == 86001
    assert errcode_of(work.appchat.create, chat_id="x" * 33, user_list=users) == 86001
    assert errcode_of(work.appchat.create, user_list=["n0001", "n0001"]) == 86007
    # an empty name is allowed; a long one is cut to 50 characters
    plain = work.appchat.create(user_list=users)["chatid"]
    assert work.appchat.get(plain)["name"] == ""
    long_name = work.appchat.create(name="会" * 60, user_list=users)["chatid"]
    assert work.appchat.get(long_name)["name"] == "会" * 50

    config.strict_users = True  # members must exist in the directory
    assert errcode_of(work.appchat.create, user_list=["n0001", "nobody"]) == 86216
    assert errcode_of(work.appchat.update, plain, add_user_list=["nobody"]) == 86216
    assert errcode_of(work.appchat.update, plain, owner="n0002") == 86005
    assert errcode_of(work.appchat.update, plain, del_user_list=["d0001"]) == 86007
    work.appchat.update(plain, add_user_list=["n0002"], owner="n0002")
    chat = state.chats.get(plain)
    assert chat["owner"] == "n0002" and chat["userlist"] == ["n0001", "d0001", "n0002"]


@pytest.mark.req("C5.1")
def test_c5_1_only_the_app_that_created_a_chat_updates_and_sends_to_it(work, live, config):
    other = {"chatid": "other1", "userlist": ["n0001", "d0001"], "agentid": "1000099"}
    assert requests.post(f"{live.url}/_sim/chats", json=other, timeout=5).json()["ok"]
    assert errcode_of(work.appchat.send_text, "other1", "x") == 86003
    assert errcode_of(work.appchat.update, "other1", add_user_list=["n0002"]) == 86003
    assert errcode_of(work.appchat.get, "other1") == 86003
    mine = make_chat(work, "mine1")
    detail = requests.get(f"{live.url}/_sim/chats/{mine}", timeout=5).json()["chat"]
    assert detail["agentid"] == config.work_agent_id and detail["owner"] == "n0001"


@pytest.mark.req("C5.1")
def test_c5_1_appchat_send_checks_each_message_type(work, live: LiveSim):
    chatid = make_chat(work, "send1")
    assert errcode_of(work.appchat.send_text, chatid, "字" * 683) == 45002  # 2049 bytes
    card = {"title": "病例", "description": "摘要", "url": "http://h5/case/1"}
    assert errcode_of(work.appchat.send, chatid, "textcard", **(card | {"title": "题" * 43})) == (
        45002  # 129 bytes
    )
    long_desc = card | {"description": "述" * 171}  # 513 bytes
    assert errcode_of(work.appchat.send, chatid, "textcard", **long_desc) == 45002
    assert errcode_of(work.appchat.send, chatid, "textcard", **(card | {"url": ""})) == 40058
    assert errcode_of(work.appchat.send, chatid, "markdown", content="x" * 4097) == 45002
    assert errcode_of(work.appchat.send, chatid, "image", media_id="no-such") == 40007

    image = work.media.upload("image", ("p.png", PNG, "image/png"))["media_id"]
    voice = work.media.upload("voice", ("v.amr", AMR, "audio/amr"))["media_id"]
    video = work.media.upload("video", ("v.mp4", MP4, "video/mp4"))["media_id"]
    doc = work.media.upload("file", ("报告.pdf", b"%PDF-1.4 x", "application/pdf"))["media_id"]
    assert errcode_of(work.appchat.send, chatid, "image", media_id=voice) == 40007  # wrong type
    work.appchat.send(chatid, "textcard", **card)
    work.appchat.send(chatid, "image", media_id=image)
    work.appchat.send(chatid, "voice", media_id=voice)
    work.appchat.send(chatid, "video", media_id=video, title="穿刺点", description="")
    work.appchat.send(chatid, "file", media_id=doc)
    work.appchat.send(chatid, "markdown", content="**结论**：继续观察")
    detail = requests.get(f"{live.url}/_sim/chats/{chatid}", timeout=5).json()
    sent = detail["messages"]
    assert [m["msgtype"] for m in sent] == [
        "textcard",
        "image",
        "voice",
        "video",
        "file",
        "markdown",
    ]
    assert sent[0]["payload"]["url"] == "http://h5/case/1"
    assert sent[4]["media_name"] == "报告.pdf"
    got = requests.get(live.url + sent[2]["media_url"], timeout=5)
    assert got.content == AMR and got.headers["Content-Type"] == "audio/amr"


def work_upload_code(live: LiveSim, token: str, media_type: str, name: str, data: bytes) -> int:
    resp = requests.post(
        f"{live.work_api_base}/cgi-bin/media/upload",
        params={"access_token": token, "type": media_type},
        files={"media": (name, data, "application/octet-stream")},
        timeout=30,
    )
    return int(resp.json()["errcode"])


@pytest.mark.req("C5.1")
def test_c5_1_work_media_upload_checks_type_format_and_size(
    work, live: LiveSim, state: SimState, clock: ManualClock
):
    work.media.upload("image", ("p.png", PNG, "image/png"))  # fetches the token
    token = state.api_calls.find("work", "/cgi-bin/gettoken")[-1]["response"]["access_token"]

    def code(media_type: str, data: bytes, name: str = "f") -> int:
        return work_upload_code(live, token, media_type, name, data)

    jpeg = b"\xff\xd8\xff\xe0" + bytes(100)
    assert code("image", jpeg) == 0
    assert code("image", b"GIF89a" + bytes(100)) == 40004  # JPG / PNG only
    assert code("image", b"\xff\xd8\xff") == 40009  # ≤ 5 bytes
    assert code("image", b"\xff\xd8\xff" + bytes(10 * MB)) == 40009
    assert code("voice", AMR) == 0
    assert code("voice", b"ID3\x03" + bytes(100)) == 40004  # an MP3: AMR only
    assert code("voice", b"#!AMR\n" + bytes(2 * MB)) == 40006
    assert code("video", MP4) == 0
    assert code("video", AMR) == 40004
    assert code("video", MP4 + bytes(10 * MB)) == 40011
    assert code("file", b"anything") == 0
    assert code("file", bytes(20 * MB + 1)) == 40006
    assert code("thumb", PNG) == 40005
    assert code("music", PNG) == 40005

    voice = work.media.upload("voice", ("v.amr", AMR, "audio/amr"))["media_id"]
    got = requests.get(
        f"{live.work_api_base}/cgi-bin/media/get",
        params={"access_token": token, "media_id": voice},
        timeout=5,
    )
    assert got.content == AMR and got.headers["Content-Type"] == "audio/amr"
    clock.advance(3 * 86400)  # temporary media live three days
    assert errcode_of(work.get, "media/get", params={"media_id": voice}) == 40007


@pytest.fixture
def work_product(config: SimConfig) -> Iterator[list[Any]]:
    """A stand-in product that verifies, decrypts and parses WeChat Work callbacks."""
    seen: list[Any] = []
    app = Flask("fake_work_product")

    @app.post("/wechat/work")
    def work_callback():
        a = request.args
        crypto = WorkCrypto(config.work_token, config.work_aes_key, config.work_corp_id)
        plain = crypto.decrypt_message(request.data, a["msg_signature"], a["timestamp"], a["nonce"])
        seen.append(parse_work(plain))
        return "success"

    with serving(app, config):
        yield seen


@pytest.mark.req("C5.1")
def test_c5_1_a_member_sends_a_photo_a_voice_note_and_a_video_to_the_app(
    live: LiveSim, state: SimState, work_product: list[Any], work
):
    def send(kind: str, name: str, data: bytes, **form: str) -> dict[str, Any]:
        resp = requests.post(
            f"{live.url}/_sim/phone/media",
            data={"channel": "work", "user": "x0001", "kind": kind, **form},
            files={"file": (name, data)},
            timeout=10,
        )
        return resp.json()

    photo = send("image", "p.png", PNG)
    voice = send("voice", "v.amr", AMR)
    video = send("video", "v.mp4", MP4)
    assert photo["ok"] and voice["ok"] and video["ok"]
    assert [m.type for m in work_product] == ["image", "voice", "video"]
    image_msg, voice_msg, video_msg = work_product
    assert voice_msg.source == "x0001" and voice_msg.media_id == voice["media_id"]
    assert voice_msg.format == "amr"
    assert video_msg.media_id == video["media_id"]
    assert video_msg.thumb_media_id == video["thumb_media_id"]

    work.media.upload("image", ("p.png", PNG, "image/png"))  # fetches the token
    token = state.api_calls.find("work", "/cgi-bin/gettoken")[-1]["response"]["access_token"]
    for media_id, data, content_type in [
        (image_msg.media_id, PNG, "image/png"),
        (voice_msg.media_id, AMR, "audio/amr"),
        (video_msg.media_id, MP4, "video/mp4"),
    ]:
        got = requests.get(
            f"{live.work_api_base}/cgi-bin/media/get",
            params={"access_token": token, "media_id": media_id},
            timeout=5,
        )
        assert got.content == data and got.headers["Content-Type"] == content_type

    # what the WeChat Work client would not send
    bad = send("voice", "v.mp3", b"ID3\x03" + bytes(100))
    assert bad["ok"] is False and "AMR" in bad["error"]
    assert send("video", "v.avi", b"RIFF" + bytes(100))["ok"] is False
    shown = state.conversations.messages("work", "x0001", include_user=True)
    assert [m["msgtype"] for m in shown] == ["image", "voice", "video"]


@pytest.mark.req("C5.1")
def test_c5_1_voice_and_video_callbacks_parse_in_wechatpy(config: SimConfig):
    crypto = WorkCrypto(config.work_token, config.work_aes_key, config.work_corp_id)
    for xml, kind in [
        (callbacks.work_voice("x0001", "3voice", fmt="speex"), "voice"),
        (callbacks.work_video("x0001", "3video", "3thumb"), "video"),
    ]:
        cb = callbacks.sign_work(config, xml)
        q = cb.query
        msg = parse_work(
            crypto.decrypt_message(cb.body, q["msg_signature"], q["timestamp"], q["nonce"])
        )
        assert msg.type == kind and msg.media_id.startswith("3") and msg.agent == 1000002
    assert msg.thumb_media_id == "3thumb"
