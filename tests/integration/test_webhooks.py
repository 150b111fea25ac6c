"""The two callbacks: verified, persisted before acknowledged, deduplicated, enqueued once."""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from rq import Queue
from sqlalchemy import func, select

from bot.models import InboxMessage
from bot.models.enums import Channel, InboxStatus
from server import create_app
from tests.support import callbacks as cb

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def app(settings, engine, redis_conn):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def compatible(settings, engine, redis_conn):
    """An official account in compatible mode: plaintext and encrypted callbacks both taken."""
    return create_app(replace(settings, wechat_mp_mode="compatible")).test_client()


def inbox_rows(session_factory):
    with session_factory() as s:
        return s.scalars(select(InboxMessage).order_by(InboxMessage.id)).all()


def test_official_account_url_verification_echoes_only_a_signed_request(client, settings):
    path, _ = cb.mp_request(settings, "", aes=False)
    assert client.get(path + "&echostr=hello123").get_data(as_text=True) == "hello123"
    assert client.get(path.replace("signature=", "signature=0") + "&echostr=x").status_code == 403


def test_wechat_work_url_verification_returns_the_decrypted_echostr(client, settings):
    from wechatpy.enterprise.crypto import WeChatCrypto

    crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    ts, nonce = str(int(time.time())), "abc"
    # build the echostr as WeChat Work does: the encrypted text plus its signature
    xml = crypto.encrypt_message("echo-42", nonce, ts)
    echostr = xml.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = xml.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query = urlencode(
        {"msg_signature": signature, "timestamp": ts, "nonce": nonce, "echostr": echostr}
    )
    resp = client.get(f"/wechat/work?{query}")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "echo-42"
    bad = urlencode(
        {"msg_signature": "0" * 40, "timestamp": ts, "nonce": nonce, "echostr": echostr}
    )
    assert client.get(f"/wechat/work?{bad}").status_code == 403


@pytest.mark.parametrize("aes", [True, False], ids=["safe-mode", "plaintext"])
def test_text_message_is_persisted_acknowledged_and_enqueued(
    compatible, settings, session_factory, redis_conn, aes
):
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_alice", "我的导管"), aes=aes)
    resp = compatible.post(path, data=body, content_type="text/xml")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"
    [row] = inbox_rows(session_factory)
    assert (row.channel, row.sender, row.status) == (Channel.MP, "o_alice", InboxStatus.PENDING)
    assert row.payload["Content"] == "我的导管"
    assert Queue("inbound", connection=redis_conn).job_ids == [f"inbound-{row.id}"]


def test_wechat_work_message_is_decrypted_and_kept(client, settings, session_factory):
    path, body = cb.work_request(
        settings, cb.work_text_xml("n0001", "今日待维护", agent_id=settings.wecom_agent_id)
    )
    assert client.post(path, data=body).get_data(as_text=True) == "success"
    [row] = inbox_rows(session_factory)
    assert (row.channel, row.sender, row.payload["Content"]) == (
        Channel.WORK,
        "n0001",
        "今日待维护",
    )


def test_same_message_delivered_four_times_concurrently_makes_one_row_and_one_job(
    app, settings, session_factory, redis_conn
):
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_bob", "你好", msg_id=424242))
    results = []

    def deliver():
        results.append(app.test_client().post(path, data=body).get_data(as_text=True))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["success"] * 4
    rows = inbox_rows(session_factory)
    assert len(rows) == 1
    assert Queue("inbound", connection=redis_conn).count == 1


def test_same_msgid_from_two_users_are_two_messages(client, settings, session_factory):
    for user in ("o_a", "o_b"):
        path, body = cb.mp_request(settings, cb.mp_text_xml(user, "hi", msg_id=555))
        client.post(path, data=body)
    assert len(inbox_rows(session_factory)) == 2


def test_retried_event_is_deduplicated_by_time_event_and_key(client, settings, session_factory):
    xml = cb.mp_event_xml("o_carol", "CLICK", "my_catheter", create_time=1764000000)
    for _ in range(3):
        path, body = cb.mp_request(settings, xml)
        client.post(path, data=body)
    assert len(inbox_rows(session_factory)) == 1


def test_bad_signature_is_refused_with_403_and_logged(client, settings, session_factory, caplog):
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_eve", "x"), aes=False)
    forged = path.replace("signature=", "signature=f")
    with caplog.at_level(logging.WARNING):
        assert client.post(forged, data=body).status_code == 403
    assert "bad signature" in caplog.text
    assert inbox_rows(session_factory) == []


def test_tampered_safe_mode_message_is_refused(client, settings, session_factory):
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_eve", "x"))
    tampered = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
    assert client.post(path, data=tampered).status_code == 403
    assert inbox_rows(session_factory) == []


def test_stale_timestamp_is_refused(client, settings, session_factory):
    path, body = cb.mp_request(
        settings, cb.mp_text_xml("o_eve", "x"), timestamp=int(time.time()) - 3600
    )
    assert client.post(path, data=body).status_code == 403
    assert inbox_rows(session_factory) == []


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><MsgType>text</MsgType",
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<xml><FromUserName>&b;</FromUserName><MsgType>text</MsgType></xml>"
        ),
        b"<xml><MsgType>text</MsgType><Content>no sender</Content></xml>",
    ],
    ids=["truncated", "entity-bomb", "no-sender"],
)
def test_malformed_or_hostile_xml_is_refused_with_400(compatible, settings, session_factory, body):
    path, _ = cb.mp_request(settings, "", aes=False)
    assert compatible.post(path, data=body).status_code == 400
    assert inbox_rows(session_factory) == []


def test_oversized_body_is_refused_with_400(client, settings):
    path, _ = cb.mp_request(settings, "", aes=False)
    assert client.post(path, data=b"<xml>" + b"x" * 70_000 + b"</xml>").status_code == 400


def test_body_without_a_length_is_not_read_past_the_limit(client, settings, session_factory):
    path, _ = cb.mp_request(settings, "", aes=False)
    body = io.BytesIO(b"<xml>" + b"x" * 70_000 + b"</xml>")
    response = client.post(  # sent chunked: no Content-Length to refuse it by
        path,
        input_stream=body,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says of chunked
    )
    assert response.status_code == 400
    assert inbox_rows(session_factory) == []


def test_unknown_event_is_stored_and_acknowledged(client, settings, session_factory):
    path, body = cb.mp_request(settings, cb.mp_event_xml("o_dan", "some_future_event", "k"))
    assert client.post(path, data=body).get_data(as_text=True) == "success"
    [row] = inbox_rows(session_factory)
    assert row.msg_type == "unknown" and row.event == "some_future_event"


def test_callbacks_are_kept_when_redis_is_down(app, settings, session_factory, monkeypatch):
    import redis

    def down(*_a, **_k):
        raise redis.ConnectionError("redis is down")

    monkeypatch.setattr("webhooks.enqueue_turn", down)
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_frank", "在吗"))
    assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"
    with session_factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.status == InboxStatus.PENDING)
            )
            == 1
        )


def test_entity_attack_inside_a_safe_mode_envelope_is_refused_with_400(
    client, settings, session_factory
):
    path, _ = cb.mp_request(settings, cb.mp_text_xml("o_eve", "x"))
    bomb = (
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<xml><ToUserName>&b;</ToUserName><Encrypt>&b;</Encrypt></xml>"
    )
    assert client.post(path, data=bomb).status_code == 400
    assert inbox_rows(session_factory) == []


@pytest.mark.req("X.1")
def test_safe_mode_refuses_a_plaintext_callback_even_with_a_valid_signature(
    client, settings, session_factory, caplog
):
    """The signature of a plaintext callback covers token, timestamp and nonce, not the body:
    in safe mode a signed URL seen once must not carry a forged message."""
    assert settings.wechat_mp_mode == "safe"  # the default when an AES key is set
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_forged", "伪造的消息"), aes=False)
    with caplog.at_level(logging.WARNING):
        assert client.post(path, data=body).status_code == 403
    assert "plaintext callback refused in safe mode" in caplog.text
    assert inbox_rows(session_factory) == []


@pytest.mark.parametrize("aes", [True, False], ids=["safe-mode", "plaintext"])
def test_a_seen_signature_with_another_body_is_refused_as_a_replay(
    compatible, settings, session_factory, aes
):
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_alice", "第一条"), aes=aes)
    assert compatible.post(path, data=body).get_data(as_text=True) == "success"
    _, other = cb.mp_request(settings, cb.mp_text_xml("o_mallory", "冒充的消息"), aes=aes)
    assert compatible.post(path, data=other).status_code == 403
    assert [r.sender for r in inbox_rows(session_factory)] == ["o_alice"]


def test_wechats_retry_of_the_same_callback_is_still_acknowledged_once(
    client, settings, session_factory
):
    path, body = cb.mp_request(settings, cb.mp_text_xml("o_alice", "在吗", msg_id=9001))
    for _ in range(3):  # WeChat resends the same query and body when it heard no answer
        assert client.post(path, data=body).get_data(as_text=True) == "success"
    assert len(inbox_rows(session_factory)) == 1


def test_wechat_work_resent_callback_is_taken_once_and_another_body_refused(
    client, settings, session_factory
):
    path, body = cb.work_request(
        settings, cb.work_text_xml("n0001", "今日待维护", agent_id=settings.wecom_agent_id)
    )
    assert client.post(path, data=body).get_data(as_text=True) == "success"
    assert client.post(path, data=body).get_data(as_text=True) == "success"  # a retry
    _, other = cb.work_request(
        settings, cb.work_text_xml("n0002", "查患者 张三", agent_id=settings.wecom_agent_id)
    )
    assert client.post(path, data=other).status_code == 403
    assert [r.sender for r in inbox_rows(session_factory)] == ["n0001"]
