"""SMS through the Tencent Cloud SMS and Aliyun SMS protocols against their simulator: signed
requests, templates, the mobile encrypted in the outbox, retried when the gateway fails for
now, failed for good when it will not succeed."""

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
from devtools.dev_env import SMS_DEV_TEMPLATES, SMS_DEV_TEMPLATES_ALIYUN
from devtools.sms_sim import (
    DEV_SDK_APP_ID,
    DEV_SECRET_ID,
    DEV_SECRET_KEY,
    DEV_SIGN_NAME,
    aliyun,
    create_sms_sim_app,
)
from server import bootstrap
from tests.support.servers import serve

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def sms(settings):
    with serve(create_sms_sim_app()) as url:
        yield (
            url,
            replace(
                settings,
                sms_provider="tencent",
                sms_api_base=url,
                sms_secret_id=DEV_SECRET_ID,
                sms_secret_key=DEV_SECRET_KEY,
                sms_sdk_app_id=DEV_SDK_APP_ID,
                sms_sign_name=DEV_SIGN_NAME,
                sms_templates=SMS_DEV_TEMPLATES,
            ),
        )


def deliverer(live, session_factory, redis_conn, cipher):
    senders = Senders(
        mp=None,
        work=None,
        work_agent_id=0,
        sms=bootstrap(live).sms,
        sms_templates=live.sms_templates,
    )
    return Deliverer(
        session_factory=session_factory, redis=redis_conn, senders=senders, cipher=cipher
    )


def queued(session_factory, cipher, template, params, key):
    with session_factory() as s:
        out_id = notify.sms(s, cipher, "13812345678", template, params, key=key)
        s.commit()
    return out_id


@pytest.mark.req("A2.2")
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
    assert message["text"] == (
        "【示范一院】周建军您好，您的外院医护注册申请未通过，"
        "原因：工牌照片不清晰。可修改后重新申请。"
    )
    with session_factory() as s:
        row = s.get(OutboxMessage, out_id)
        assert "13812345678" not in row.recipient and row.provider_msg_id == message["serial"]


@pytest.mark.req("P3.3")
@pytest.mark.parametrize(
    ("gateway", "busy", "limit"),
    [
        ("sms", "InternalError.Timeout", "LimitExceeded.PhoneNumberDailyLimit"),
        ("aliyun_sms", "isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL"),
    ],
)
def test_gateway_failures_are_retried_or_failed_for_good(
    gateway, busy, limit, request, session_factory, redis_conn, cipher
):
    url, live = request.getfixturevalue(gateway)
    d = deliverer(live, session_factory, redis_conn, cipher)
    requests.post(url + "/_sim/fail", json={"code": busy})
    out_id = queued(session_factory, cipher, "reminder_due", ["张三", "PICC", "12月3日"], "k2")
    with pytest.raises(SendLater):
        d.deliver(out_id)
    assert d.deliver(out_id) is DeliveryStatus.SENT  # the retry goes through (signed anew)
    requests.post(url + "/_sim/fail", json={"code": limit})
    out_id = queued(session_factory, cipher, "reminder_due", ["张三", "PICC", "12月3日"], "k3")
    assert d.deliver(out_id) is DeliveryStatus.FAILED
    with session_factory() as s:
        assert limit in s.get(OutboxMessage, out_id).last_error


@pytest.mark.req("P3.3")
@pytest.mark.parametrize(
    ("gateway", "bad_signature", "bad_template"),
    [
        ("sms", "SignatureFailure", "FailedOperation.TemplateIncorrectOrUnapproved"),
        ("aliyun_sms", "SignatureDoesNotMatch", "isv.SMS_TEMPLATE_ILLEGAL"),
    ],
)
def test_a_wrong_secret_or_template_fails_with_the_reason(
    gateway, bad_signature, bad_template, request, session_factory, redis_conn, cipher
):
    url, live = request.getfixturevalue(gateway)
    wrong = [
        replace(live, sms_secret_key="not-the-key"),
        replace(
            live, sms_templates={"reminder_due": "SMS_0" if gateway == "aliyun_sms" else "9999999"}
        ),
        live,  # and a message kind without a configured template
    ]
    for n, (settings_, kind) in enumerate(
        zip(wrong, ["reminder_due", "reminder_due", "no_such_kind"], strict=True)
    ):
        out_id = queued(session_factory, cipher, kind, ["张三", "PICC", "12月3日"], f"k{n}")
        assert (
            deliverer(settings_, session_factory, redis_conn, cipher).deliver(out_id)
            is DeliveryStatus.FAILED
        )
    with session_factory() as s:
        errors = [r.last_error for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert (
        bad_signature in errors[0] and bad_template in errors[1] and "no SMS template" in errors[2]
    )
    assert requests.get(url + "/_sim/messages").json()["messages"] == []


@pytest.fixture
def aliyun_sms(settings):
    with serve(create_sms_sim_app()) as url:
        yield (
            url,
            replace(
                settings,
                sms_provider="aliyun",
                sms_api_base=url,
                sms_secret_id=aliyun.DEV_ACCESS_KEY_ID,
                sms_secret_key=aliyun.DEV_ACCESS_KEY_SECRET,
                sms_sign_name=DEV_SIGN_NAME,
                sms_templates=SMS_DEV_TEMPLATES_ALIYUN,
            ),
        )


@pytest.mark.req("P3.3")
def test_aliyun_sends_a_signed_request_with_named_parameters_once(
    aliyun_sms, session_factory, redis_conn, cipher
):
    url, live = aliyun_sms
    out_id = queued(session_factory, cipher, "reminder_overdue", ["张三", "PICC", "3"], "a1")
    d = deliverer(live, session_factory, redis_conn, cipher)
    assert d.deliver(out_id) is DeliveryStatus.SENT
    assert d.deliver(out_id) is DeliveryStatus.SENT  # already sent: nothing more
    [message] = requests.get(url + "/_sim/messages").json()["messages"]
    assert message["provider"] == "aliyun" and message["phone"] == "13812345678"
    assert message["template"] == "SMS_1000004"
    assert message["params"] == {"name": "张三", "device": "PICC", "days": "3"}
    assert (
        message["text"]
        == "【示范一院】张三您好，您的PICC维护已逾期3天，请尽快到医院或就近机构维护。"
    )
    with session_factory() as s:
        assert s.get(OutboxMessage, out_id).provider_msg_id == message["serial"]
