"""SMS through the Tencent Cloud SMS protocol against its simulator: signed requests,
templates, the mobile encrypted in the outbox, retried when the gateway fails for now,
failed for good when it will not succeed."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from sqlalchemy import select

from bot.adapters.wechat import Senders
from bot.channels.outbox import Deliverer, SendLater
from bot.models import OutboxMessage
from bot.models.enums import DeliveryStatus
from bot.services import notify
from devtools.dev_env import SMS_DEV_TEMPLATES
from devtools.sms_sim import (
    DEV_SDK_APP_ID,
    DEV_SECRET_ID,
    DEV_SECRET_KEY,
    DEV_SIGN_NAME,
    create_sms_sim_app,
)
from server.adapters import sms_gateway
from tests.support.servers import serve

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def sms(settings):
    with serve(create_sms_sim_app()) as url:
        yield url, replace(settings, sms_provider="tencent", sms_api_base=url, sms_secret_id=DEV_SECRET_ID,
                           sms_secret_key=DEV_SECRET_KEY, sms_sdk_app_id=DEV_SDK_APP_ID,
                           sms_sign_name=DEV_SIGN_NAME, sms_templates=SMS_DEV_TEMPLATES)  # fmt: skip


def deliverer(live, session_factory, redis_conn, cipher):
    senders = Senders(
        mp=None, work=None, work_agent_id=0, sms=sms_gateway(live), sms_templates=live.sms_templates
    )
    return Deliverer(
        session_factory=session_factory, redis=redis_conn, senders=senders, cipher=cipher
    )


def queued(session_factory, cipher, template, params, key):
    with session_factory() as s:
        out_id = notify.sms(s, cipher, "13812345678", template, params, key=key)
        s.commit()
    return out_id


def test_a_templated_sms_is_signed_sent_once_and_its_mobile_never_stored_in_clear(
    sms, session_factory, redis_conn, cipher
):
    url, live = sms
    out_id = queued(
        session_factory, cipher, "application_rejected", ["周建军", "工牌照片不清晰"], "k1"
    )
    assert (
        queued(session_factory, cipher, "application_rejected", ["周建军", "x"], "k1") == out_id
    )  # same key
    d = deliverer(live, session_factory, redis_conn, cipher)
    assert d.deliver(out_id) is DeliveryStatus.SENT
    assert d.deliver(out_id) is DeliveryStatus.SENT  # already sent: nothing more
    [message] = requests.get(url + "/_sim/messages").json()["messages"]
    assert message["phone"] == "13812345678"
    assert (
        message["text"]
        == "【示范一院】周建军您好，您的外院医护注册申请未通过，原因：工牌照片不清晰。可修改后重新申请。"
    )
    with session_factory() as s:
        row = s.get(OutboxMessage, out_id)
        assert "13812345678" not in row.recipient and row.provider_msg_id == message["serial"]


def test_gateway_failures_are_retried_or_failed_for_good(sms, session_factory, redis_conn, cipher):
    url, live = sms
    d = deliverer(live, session_factory, redis_conn, cipher)
    requests.post(url + "/_sim/fail", json={"code": "InternalError.Timeout"})
    out_id = queued(session_factory, cipher, "reminder_due", ["张三", "PICC", "12月3日"], "k2")
    with pytest.raises(SendLater):
        d.deliver(out_id)
    assert d.deliver(out_id) is DeliveryStatus.SENT  # the retry goes through
    requests.post(url + "/_sim/fail", json={"code": "LimitExceeded.PhoneNumberDailyLimit"})
    out_id = queued(session_factory, cipher, "reminder_due", ["张三", "PICC", "12月3日"], "k3")
    assert d.deliver(out_id) is DeliveryStatus.FAILED
    with session_factory() as s:
        assert "PhoneNumberDailyLimit" in s.get(OutboxMessage, out_id).last_error


def test_a_wrong_secret_or_an_unconfigured_template_fails_with_the_reason(
    sms, session_factory, redis_conn, cipher
):
    url, live = sms
    wrong = replace(live, sms_secret_key="not-the-key")
    out_id = queued(session_factory, cipher, "reminder_due", ["张三", "PICC", "12月3日"], "k4")
    assert (
        deliverer(wrong, session_factory, redis_conn, cipher).deliver(out_id)
        is DeliveryStatus.FAILED
    )
    out_id = queued(session_factory, cipher, "no_such_kind", [], "k5")
    assert (
        deliverer(live, session_factory, redis_conn, cipher).deliver(out_id)
        is DeliveryStatus.FAILED
    )
    with session_factory() as s:
        errors = [r.last_error for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert "SignatureFailure" in errors[0] and "no SMS template" in errors[1]
