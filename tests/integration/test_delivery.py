"""Outbound messages through the production clients (wechatpy, hardened) against the
WeChat / WeChat Work simulator: delivered once, retried when WeChat is busy, given up with a
reason when it will never work, and sent again as a subscribe message when it matters."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.adapters.media import MediaStore, UploadCache
from bot.adapters.wechat import MpClient, Senders, WeChatError, WorkClient
from bot.channels.outbox import Deliverer, SendLater
from bot.models import OutboxMessage, utcnow
from bot.models.enums import Channel, DeliveryStatus
from devtools.wechat_sim.server import LiveSim
from tests.support.callbacks import sim_config

pytestmark = [pytest.mark.db, pytest.mark.redis]

CUSTOM = "/mp/cgi-bin/message/custom/send"


@pytest.fixture
def sim(settings):
    with LiveSim(sim_config(settings)) as live:
        yield live


@pytest.fixture
def live_settings(settings, sim):
    return replace(settings, wechat_api_base=sim.mp_api_base, wecom_api_base=sim.work_api_base)


@pytest.fixture
def senders(live_settings, redis_conn):
    s = live_settings
    return Senders(
        mp=MpClient(s.wechat_mp_appid, s.wechat_mp_secret, s.wechat_api_base, redis_conn),
        work=WorkClient(s.wecom_corp_id, s.wecom_secret, s.wecom_api_base, redis_conn),
        work_agent_id=int(s.wecom_agent_id),
    )


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def deliverer(session_factory, redis_conn, senders, clock):
    return Deliverer(session_factory, redis_conn, senders, UploadCache(redis_conn), clock=clock)


def outbox(session_factory, channel, recipient, payload, key="k1"):
    with session_factory() as s:
        row = OutboxMessage(
            dedupe_key=key,
            channel=channel,
            recipient=recipient,
            msg_type=payload.get("msgtype") or payload["_api"],
            payload=payload,
        )
        s.add(row)
        s.commit()
        return row.id


def status(session_factory, outbox_id):
    with session_factory() as s:
        return s.get(OutboxMessage, outbox_id)


TEXT = {"msgtype": "text", "text": {"content": "您的PICC明天需要维护"}}


def test_patient_reply_is_delivered_once_as_a_customer_service_message(
    sim, deliverer, session_factory
):
    sim.state.user_message("o_alice")
    oid = outbox(session_factory, Channel.MP, "o_alice", TEXT)
    assert deliverer.deliver(oid) is DeliveryStatus.SENT
    assert deliverer.deliver(oid) is DeliveryStatus.SENT  # a re-run sends nothing more
    [msg] = sim.state.messages("mp", "o_alice")
    assert (msg["msgtype"], msg["payload"]["content"]) == ("text", "您的PICC明天需要维护")
    assert len(sim.state.calls(path=CUSTOM)) == 1


def test_clinician_message_asks_wechat_work_for_duplicate_checking(sim, deliverer, session_factory):
    oid = outbox(session_factory, Channel.WORK, "user:n0001", TEXT)
    assert deliverer.deliver(oid) is DeliveryStatus.SENT
    [call] = sim.state.calls(path="/work/cgi-bin/message/send")
    assert call["body"]["touser"] == "n0001" and call["body"]["enable_duplicate_check"] == 1
    assert len(sim.state.messages("work", "n0001")) == 1


@pytest.mark.req("P3.2")
def test_busy_wechat_is_retried_with_backoff_and_delivered_when_it_recovers(
    sim, deliverer, session_factory, clock
):
    sim.state.user_message("o_bob")
    sim.state.add_fault(CUSTOM, -1, times=2)
    oid = outbox(session_factory, Channel.MP, "o_bob", TEXT)
    for _ in range(2):
        with pytest.raises(SendLater):
            deliverer.deliver(oid)
        row = status(session_factory, oid)
        assert row.status is DeliveryStatus.PENDING and row.next_attempt_at > clock.now
        clock.now += timedelta(minutes=1)
    assert deliverer.deliver(oid) is DeliveryStatus.SENT
    assert status(session_factory, oid).attempts == 3
    assert len(sim.state.messages("mp", "o_bob")) == 1


@pytest.mark.req("P3.2")
def test_network_failure_is_retried(sim, deliverer, session_factory):
    sim.state.user_message("o_net")
    sim.state.add_fault(CUSTOM, http_status=502, times=1)
    oid = outbox(session_factory, Channel.MP, "o_net", TEXT)
    with pytest.raises(SendLater):
        deliverer.deliver(oid)
    assert "network" in status(session_factory, oid).last_error
    assert deliverer.deliver(oid) is DeliveryStatus.SENT


@pytest.mark.req("P3.2")
def test_daily_quota_exhausted_is_retried_later(sim, deliverer, session_factory):
    sim.state.user_message("o_q")
    sim.state.add_fault(CUSTOM, 45009)
    oid = outbox(session_factory, Channel.MP, "o_q", TEXT)
    with pytest.raises(SendLater):
        deliverer.deliver(oid)
    assert "daily_quota_exhausted" in status(session_factory, oid).last_error


@pytest.mark.req("P3.2")
@pytest.mark.parametrize(
    ("errcode", "reason"),
    [(48001, "api_unauthorized"), (43004, "not_following"), (40003, "invalid_openid")],
)
def test_permanent_errors_are_recorded_and_not_retried(
    sim, deliverer, session_factory, errcode, reason
):
    sim.state.user_message("o_p")
    sim.state.add_fault(CUSTOM, errcode)
    oid = outbox(session_factory, Channel.MP, "o_p", TEXT)
    assert deliverer.deliver(oid) is DeliveryStatus.FAILED
    row = status(session_factory, oid)
    assert reason in row.last_error and row.attempts == 1
    assert deliverer.deliver(oid) is DeliveryStatus.FAILED  # nothing is tried again
    assert len(sim.state.calls(path=CUSTOM)) == 1


@pytest.mark.req("P3.2")
def test_closed_48_hour_window_falls_back_to_a_subscribe_message_when_it_matters(
    sim, deliverer, session_factory
):
    sim.state.accept_subscription("o_late", "tpl_remind")
    fallback = {
        "_api": "subscribe",
        "template_id": "tpl_remind",
        "page": "",
        "data": {"thing1": {"value": "PICC维护"}},
    }
    oid = outbox(session_factory, Channel.MP, "o_late", {**TEXT, "_fallback": fallback})
    assert deliverer.deliver(oid) is DeliveryStatus.FAILED  # the user never wrote: 45015
    row = status(session_factory, oid)
    assert "window_closed" in row.last_error
    with session_factory() as s:
        fb = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "k1:fallback"))
    assert fb.msg_type == "subscribe"
    assert deliverer.deliver(fb.id) is DeliveryStatus.SENT
    [call] = sim.state.calls(path="/mp/cgi-bin/message/subscribe/bizsend")
    assert call["body"]["template_id"] == "tpl_remind" and "_api" not in call["body"]


def test_closed_window_without_fallback_is_recorded_only(sim, deliverer, session_factory):
    oid = outbox(session_factory, Channel.MP, "o_gone", TEXT)
    assert deliverer.deliver(oid) is DeliveryStatus.FAILED
    with session_factory() as s:
        assert (
            s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "k1:fallback")) is None
        )


def test_more_than_five_replies_to_one_message_hit_the_count_limit(sim, deliverer, session_factory):
    sim.state.user_message("o_chatty")
    results = [
        deliverer.deliver(outbox(session_factory, Channel.MP, "o_chatty", TEXT, key=f"k{n}"))
        for n in range(6)
    ]
    assert results == [DeliveryStatus.SENT] * 5 + [DeliveryStatus.FAILED]


def test_expired_token_is_refreshed_once_and_the_message_sent(sim, deliverer, session_factory):
    sim.state.user_message("o_tok")
    deliverer.deliver(outbox(session_factory, Channel.MP, "o_tok", TEXT, key="a"))
    fetches = sim.state.token_fetches("mp")
    sim.state.expire_tokens()
    assert (
        deliverer.deliver(outbox(session_factory, Channel.MP, "o_tok", TEXT, key="b"))
        is DeliveryStatus.SENT
    )
    assert sim.state.token_fetches("mp") == fetches + 1


def test_token_rejected_again_after_a_refresh_is_not_retried_forever(sim, senders):
    sim.state.add_fault(CUSTOM, 40001, times=10)
    sim.state.user_message("o_loop")
    with pytest.raises(WeChatError) as err:
        senders.send_mp("o_loop", TEXT)
    assert err.value.retryable and len(sim.state.calls(path=CUSTOM)) == 2


def test_processes_share_one_token_and_refresh_it_once(sim, live_settings, redis_conn):
    s = live_settings
    clients = [
        MpClient(s.wechat_mp_appid, s.wechat_mp_secret, s.wechat_api_base, redis_conn)
        for _ in range(6)
    ]
    tokens = []
    threads = [threading.Thread(target=lambda c=c: tokens.append(c.access_token)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1
    assert sim.state.token_fetches("mp") == 1


def test_every_request_goes_to_the_configured_api_base(sim, senders):
    sim.state.user_message("o_base")
    senders.send_mp("o_base", TEXT)
    paths = [c["path"] for c in sim.state.calls("mp")]
    assert "/mp/cgi-bin/token" in paths and CUSTOM in paths


def test_outbound_image_is_uploaded_once_and_its_media_id_reused(
    sim, deliverer, session_factory, tmp_path
):
    from PIL import Image

    png = tmp_path / "qr.png"
    Image.new("RGB", (60, 60), "white").save(png)
    sim.state.user_message("o_img")
    image = {"msgtype": "image", "image": {"path": str(png)}}
    for key in ("i1", "i2"):
        assert (
            deliverer.deliver(outbox(session_factory, Channel.MP, "o_img", image, key=key))
            is DeliveryStatus.SENT
        )
    assert len(sim.state.calls(path="/mp/cgi-bin/media/upload")) == 1
    sent = [m["payload"]["media_id"] for m in sim.state.messages("mp", "o_img")]
    assert len(sent) == 2 and sent[0] == sent[1]


@pytest.mark.req("P4.1")
def test_inbound_photo_is_downloaded_under_its_content_hash(sim, senders, tmp_path):
    data = b"\x89PNG\r\n\x1a\n" + b"report-photo" * 100
    media = sim.state.add_media("mp", data, "image/png")
    store = MediaStore(tmp_path)
    stored = store.fetch_inbound(senders.mp, media["media_id"])
    assert stored.path.read_bytes() == data and stored.sha256 in stored.path.name
    again = store.fetch_inbound(senders.mp, media["media_id"])
    assert again.path == stored.path and len(list(Path(tmp_path).rglob("*.png"))) == 1


def test_expired_inbound_media_is_a_permanent_error(sim, senders):
    with pytest.raises(WeChatError) as err:
        senders.mp.download("no-such-media")
    assert not err.value.retryable and err.value.reason == "invalid_media_id"


@pytest.mark.req("C5.1")
def test_group_chat_is_created_and_receives_a_case_summary(
    sim, senders, deliverer, session_factory
):
    chat_id = senders.create_chat("会诊：张** PICC 静脉炎", "n0001", ["n0001", "n0002", "o0001"])
    assert sim.state.chat(chat_id)["userlist"] == ["n0001", "n0002", "o0001"]
    oid = outbox(
        session_factory,
        Channel.WORK,
        f"chat:{chat_id}",
        {"msgtype": "text", "text": {"content": "病例摘要"}},
    )
    assert deliverer.deliver(oid) is DeliveryStatus.SENT
    assert [m["payload"]["content"] for m in sim.state.messages("appchat", chat_id)] == ["病例摘要"]


@pytest.mark.req("C5.1")
def test_group_chat_needs_two_members(sim, senders):
    with pytest.raises(WeChatError):
        senders.create_chat("会诊", "n0001", ["n0001"])


def test_a_clicked_template_card_is_updated_so_it_cannot_be_pressed_twice(
    sim, deliverer, session_factory
):
    from bot.channels.turn import card_clicked
    from cards import render

    [(msg_type, card)] = render(
        {"text": "确认本次维护？", "buttons": [{"title": "确认", "payload": "/affirm"}]},
        Channel.WORK,
    )
    assert (
        deliverer.deliver(outbox(session_factory, Channel.WORK, "user:n0001", card, key="card"))
        is DeliveryStatus.SENT
    )
    task_id = card["template_card"]["task_id"]
    code = sim.state.issue_response_code(task_id, "n0001")  # the nurse presses 确认
    _, update = card_clicked(code)
    oid = outbox(session_factory, Channel.WORK, "user:n0001", update, key="upd")
    assert deliverer.deliver(oid) is DeliveryStatus.SENT
    [entry] = sim.state.card_entries(task_id)
    assert entry["card_update"] == {"replace_name": "已提交"}
    # the response code is single-use: a second update is refused for good
    again = outbox(session_factory, Channel.WORK, "user:n0001", update, key="upd2")
    assert deliverer.deliver(again) is DeliveryStatus.FAILED


def test_a_batch_job_sends_its_rows_and_a_row_that_must_wait_gets_a_delayed_job_of_its_own(
    sim, senders, settings, session_factory, redis_conn, cipher
):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from bot import container
    from bot.channels.outbox import send_outbox_batch
    from server import bootstrap

    container.install(
        bootstrap(settings, session_factory=session_factory, redis=redis_conn, senders=senders)
    )
    for user in ("o_first", "o_second"):
        sim.state.user_message(user)
    sim.state.add_fault(CUSTOM, -1, times=1)  # busy once: the first row waits
    ids = [
        outbox(session_factory, Channel.MP, user, TEXT, key=user)
        for user in ("o_first", "o_second")
    ]
    assert send_outbox_batch(ids) == {"retrying": 1, "sent": 1}
    assert status(session_factory, ids[0]).status is DeliveryStatus.PENDING
    assert len(sim.state.messages("mp", "o_second")) == 1
    registry = ScheduledJobRegistry(queue=Queue("bulk", connection=redis_conn))
    assert registry.get_job_ids() == [f"outbound-{ids[0]}"]
    later = Queue("bulk", connection=redis_conn).fetch_job(f"outbound-{ids[0]}")
    assert later.retry_intervals == [5, 15, 30, 60, 120, 300, 600]  # the 2 s one is used up
    assert send_outbox_batch(ids) == {"sent": 2}  # the retry (or a rerun) sends nothing twice
    assert len(sim.state.messages("mp", "o_first")) == 1


@pytest.mark.req("P3.2")
def test_closed_window_falls_back_to_a_template_message_when_configured(
    sim, deliverer, session_factory
):
    from datetime import date

    from bot.services.reminders import WeChatFallback

    fallback = WeChatFallback("template", "tpl_maint", "https://vam.example").message(
        "PICC", date(2026, 12, 10), "今日需维护导管"
    )
    oid = outbox(session_factory, Channel.MP, "o_late", {**TEXT, "_fallback": fallback})
    assert deliverer.deliver(oid) is DeliveryStatus.FAILED  # 45015: the user never wrote
    with session_factory() as s:
        fb = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "k1:fallback"))
    assert fb.msg_type == "template"
    assert deliverer.deliver(fb.id) is DeliveryStatus.SENT
    [call] = sim.state.calls(path="/mp/cgi-bin/message/template/send")
    assert (
        call["body"]["template_id"] == "tpl_maint"
        and call["body"]["url"] == "https://vam.example/h5/home"
    )
    assert (
        call["body"]["data"]["time2"] == {"value": "2026年12月10日"} and "_api" not in call["body"]
    )
    [message] = sim.state.messages("mp", "o_late")
    assert message["msgtype"] == "template"


@pytest.mark.req("P3.2", "P3.3")
def test_a_reminder_that_cannot_reach_wechat_is_sent_by_sms_at_the_next_sweep(
    sim, deliverer, session_factory, cipher, settings, dictionary
):
    """WeChat only was chosen, but the patient never wrote (window closed) and never accepted
    subscribe messages: after the fallback fails too, the next channel (SMS) gets the
    reminder — once, in daytime."""
    from datetime import UTC, date, datetime

    from bot.models import Reminder
    from bot.services import reminders

    day = date(2026, 12, 10)
    ten = datetime(2026, 12, 10, 10, tzinfo=settings.timezone).astimezone(UTC)
    patient_with_a_picc_due(session_factory, cipher, ["inapp", "mp"], "13900002222", "o_silent")

    def sweep():
        with session_factory() as s:
            result = reminders.sweep(
                s, dictionary, cipher, ten, settings.timezone, public_base_url="https://vam.example"
            )
            s.commit()
            return result.outbox_ids

    [wechat] = sweep()
    assert deliverer.deliver(wechat) is DeliveryStatus.FAILED  # 45015: the window is closed
    with session_factory() as s:
        fallback = s.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key.like("%:fallback"))
        )
        assert s.scalar(select(Reminder).where(Reminder.channel == Channel.SMS)) is None
    assert deliverer.deliver(fallback) is DeliveryStatus.FAILED  # 43101: never accepted
    [sms] = sweep()
    assert sweep() == []  # once
    with session_factory() as s:
        row = s.get(OutboxMessage, sms)
        assert row.channel is Channel.SMS and "13900002222" not in row.recipient
        assert s.scalar(select(Reminder).where(Reminder.channel == Channel.SMS)).due_on == day


@pytest.mark.req("P3.3")
def test_a_reminder_sms_goes_to_the_mobile_on_file_when_sent(
    sim, senders, session_factory, redis_conn, cipher, settings, dictionary
):
    """The outbox names the patient, not the number: a mobile removed after the sweep is not
    texted; the reminder is recorded as failed and WeChat is tried next."""
    from datetime import UTC, datetime

    from bot.models import Patient, Reminder
    from bot.services import reminders

    patient_id = patient_with_a_picc_due(
        session_factory, cipher, ["inapp", "sms"], "13600004444", "o_sun"
    )
    with session_factory() as s:
        ten = datetime(2026, 12, 10, 10, tzinfo=settings.timezone).astimezone(UTC)
        [sms] = reminders.sweep(
            s, dictionary, cipher, ten, settings.timezone, public_base_url="https://vam.example"
        ).outbox_ids
        s.get(Patient, patient_id).phone_enc = None  # the patient removed the mobile meanwhile
        s.commit()
    deliverer = Deliverer(session_factory, redis_conn, senders, cipher=cipher)
    assert deliverer.deliver(sms) is DeliveryStatus.FAILED
    assert "没有手机号" in status(session_factory, sms).last_error
    with session_factory() as s:
        assert s.scalar(select(Reminder).where(Reminder.channel == Channel.MP)).status is (
            DeliveryStatus.PENDING
        )


def patient_with_a_picc_due(session_factory, cipher, channels, mobile, openid) -> int:
    """A patient following the official account whose PICC is due on 2026-12-10; the id."""
    from datetime import UTC, date, datetime

    from bot.models import Catheter, Patient, PatientAccount, PatientProfile

    with session_factory() as s:
        p = Patient(
            name="王五",
            reminder_channels=channels,
            phone_enc=cipher.encrypt(mobile, context="patient.phone"),
        )
        acc = PatientAccount(openid=openid, ih_user_id=f"ih-{openid}")
        s.add_all([p, acc])
        s.flush()
        s.add_all(
            [
                PatientProfile(account_id=acc.id, patient_id=p.id),
                Catheter(
                    patient_id=p.id,
                    device_type="PICC",
                    next_due_on=date(2026, 12, 10),
                    placed_at=datetime(2026, 11, 1, tzinfo=UTC),
                ),
            ]
        )
        s.commit()
        return p.id
