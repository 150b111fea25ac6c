"""The reminder sweep with the clock injected: exactly one reminder per channel and kind, none
twice even for concurrent sweeps, recovery after a crash between "created" and "queued",
quiet hours for SMS, escalation of overdue high-risk patients to their nurse."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.models import (
    Catheter,
    InAppMessage,
    Institution,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
    Staff,
)
from bot.models.enums import Channel, DeliveryStatus, ReminderKind, StaffRole
from bot.services import reminders

pytestmark = pytest.mark.db


def at(settings, day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=settings.timezone).astimezone(UTC)


@pytest.fixture
def due(session, cipher, settings):
    """A bound patient whose PICC is due on 2026-12-10; all three channels enabled."""
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n0001"
    )
    p = Patient(name="张三", phone_enc=cipher.encrypt("13800001111", context="patient.phone"))
    session.add_all([home, nurse, p])
    session.flush()
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        placed_at=datetime(2026, 11, 1, tzinfo=UTC),
        next_due_on=date(2026, 12, 10),
        responsible_staff_id=nurse.id,
    )
    acc = PatientAccount(openid="o_zhang", ih_user_id="ih-1")
    session.add_all([c, acc])
    session.flush()
    session.add(PatientProfile(account_id=acc.id, patient_id=p.id))
    session.commit()
    return c


def run(session_factory, dictionary_payload, cipher, settings, now, **options):
    with session_factory() as s:
        from bot.services import dictionary as dictionary_service

        d = dictionary_service.current(s)
        result = reminders.sweep(
            s, d, cipher, now, settings.timezone, public_base_url="https://vam.example", **options
        )
        escalations = reminders.escalate(s, d, now, settings.timezone)
        s.commit()
        return result, escalations


def count(session_factory, model, *where):
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.req("P3.1", "P3.2", "P3.3", "A7.4")
def test_one_reminder_per_channel_and_kind_however_often_the_sweep_runs(
    due, session_factory, cipher, settings
):
    assert (
        run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 7), 10))[0].created
        == 0
    )  # 3 days before
    result, _ = run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 8), 10))
    assert result.created == 3 and result.delivered_inapp == 1 and len(result.outbox_ids) == 2
    again, _ = run(
        session_factory,
        None,
        cipher,
        settings,
        at(
            settings,
            date(2026, 12, 8),
            10,
        )
        + timedelta(minutes=5),
    )
    assert again.created == 0 and again.outbox_ids == []
    with session_factory() as s:
        kinds = {(r.kind, r.channel) for r in s.scalars(select(Reminder))}
        assert kinds == {
            (ReminderKind.BEFORE, Channel.INAPP),
            (ReminderKind.BEFORE, Channel.MP),
            (ReminderKind.BEFORE, Channel.SMS),
        }
        [inapp] = s.scalars(select(InAppMessage)).all()
        assert inapp.title == "导管维护提醒" and "12月10日" in inapp.body
        sms = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == Channel.SMS))
        # the SMS names the patient, not the number, and is worded by the database
        assert sms.recipient == f"patient:{due.patient_id}"
        assert sms.payload == {"template": "reminder_due", "params": ["张三", "PICC", "12月10日"]}
        mp = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == Channel.MP))
        assert mp.recipient == "o_zhang" and mp.payload["_fallback"]["_api"] == "subscribe"
    # on the day, then overdue: one more of each kind
    assert (
        run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 10), 10))[
            0
        ].created
        == 3
    )
    assert (
        run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 12), 10))[
            0
        ].created
        == 3
    )
    assert (
        run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 13), 10))[
            0
        ].created
        == 0
    )
    assert count(session_factory, OutboxMessage) == 6


@pytest.mark.req("P3.1", "P3.2", "P3.3", "A7.4")
def test_maintenance_moves_the_due_date_and_the_sweep_goes_quiet(
    due, session, session_factory, cipher, settings
):
    run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 10), 10))
    catheter = session.get(Catheter, due.id)
    catheter.next_due_on = date(2026, 12, 17)  # registered on the 10th: +7 days
    session.commit()
    assert (
        run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 11), 10))[
            0
        ].created
        == 0
    )


@pytest.mark.req("P3.1", "P3.2", "P3.3", "A7.4")
def test_concurrent_sweeps_send_nothing_twice(due, session_factory, cipher, settings):
    now = at(settings, date(2026, 12, 10), 10)
    errors = []

    def sweep():
        try:
            run(session_factory, None, cipher, settings, now)
        except Exception as exc:  # noqa: BLE001 - a loser's unique violation is allowed
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run(session_factory, None, cipher, settings, now)  # whatever a loser left undone
    assert count(session_factory, Reminder) == 3
    assert count(session_factory, OutboxMessage) == 2
    assert count(session_factory, InAppMessage) == 1


@pytest.mark.req("P3.1", "P3.2", "P3.3", "A7.4")
def test_a_crash_between_created_and_queued_is_recovered_by_the_next_sweep(
    due, session, session_factory, cipher, settings
):
    # the reminder rows exist (committed) but the process died before writing their outbox rows
    for channel in (Channel.MP, Channel.SMS):
        session.add(
            Reminder(
                catheter_id=due.id,
                patient_id=due.patient_id,
                due_on=due.next_due_on,
                kind=ReminderKind.DUE,
                channel=channel,
            )
        )
    session.commit()
    result, _ = run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 10), 10))
    assert result.created == 1  # only the in-app one was missing
    assert count(session_factory, OutboxMessage) == 2


@pytest.mark.req("P3.3")
def test_no_sms_in_quiet_hours_it_goes_out_when_they_end(due, session_factory, cipher, settings):
    result, _ = run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 9), 22))
    assert (
        result.created == 3
        and count(session_factory, OutboxMessage, OutboxMessage.channel == Channel.SMS) == 0
    )
    with session_factory() as s:
        sms = s.scalar(select(Reminder).where(Reminder.channel == Channel.SMS))
        assert sms.not_before == at(settings, date(2026, 12, 10), 8)
    run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 10), 7))
    assert count(session_factory, OutboxMessage, OutboxMessage.channel == Channel.SMS) == 0
    run(
        session_factory,
        None,
        cipher,
        settings,
        at(settings, date(2026, 12, 10), 8) + timedelta(minutes=5),
    )
    assert count(session_factory, OutboxMessage, OutboxMessage.channel == Channel.SMS) == 1


@pytest.mark.req("A7.4", "C3.3")
def test_overdue_high_risk_patients_go_to_their_nurse_once(
    due, session, session_factory, cipher, settings
):
    catheter = session.get(Catheter, due.id)
    catheter.tier = "A"  # escalates when overdue by 1 day
    session.commit()
    _, escalations = run(
        session_factory, None, cipher, settings, at(settings, date(2026, 12, 10), 10)
    )
    assert escalations == []
    _, escalations = run(
        session_factory, None, cipher, settings, at(settings, date(2026, 12, 11), 10)
    )
    _, again = run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 11), 11))
    assert len(escalations) == 1 and again == escalations
    with session_factory() as s:
        row = s.get(OutboxMessage, escalations[0])
        assert row.recipient == "user:n0001" and "已逾期1天" in row.payload["text"]["content"]


@pytest.mark.req("P3.1", "P3.2", "P3.3")
def test_channels_follow_the_patients_preference_and_missing_contacts_are_recorded(
    due, session, session_factory, cipher, settings
):
    p = session.get(Patient, due.patient_id)
    p.reminder_channels = ["inapp", "sms"]
    p.phone_enc = None
    session.commit()
    run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 10), 10))
    with session_factory() as s:
        by_channel = {r.channel: r for r in s.scalars(select(Reminder))}
    assert (
        by_channel[Channel.SMS].status is DeliveryStatus.FAILED
        and by_channel[Channel.SMS].last_error == "没有手机号"
    )
    # not chosen, but the patient follows the official account: WeChat is tried next
    assert set(by_channel) == {Channel.INAPP, Channel.SMS, Channel.MP}
    assert by_channel[Channel.MP].status is DeliveryStatus.QUEUED


@pytest.mark.req("P3.1", "P3.2", "P3.3", "A7.4")
@pytest.mark.redis
def test_the_scheduled_job_sweeps_and_queues_the_sends(due, session, settings, engine, redis_conn):
    from rq import Queue

    from bot import container
    from bot.care.rules import local_date
    from bot.jobs.reminders import sweep_reminders
    from bot.models import utcnow
    from server import bootstrap

    p = session.get(Patient, due.patient_id)
    p.quiet_start = p.quiet_end = "00:00"  # no quiet hours: the test runs at any time of day
    session.get(Catheter, due.id).next_due_on = local_date(utcnow(), settings.timezone)
    session.commit()
    container.install(bootstrap(settings))
    assert sweep_reminders().startswith("created 3, in-app 1, queued 2")
    jobs = Queue("bulk", connection=redis_conn).jobs
    assert [job.func_name for job in jobs] == ["bot.channels.outbox.send_outbox_batch"]
    assert sorted(jobs[0].args[0]) == sorted(session.scalars(select(OutboxMessage.id)))
    assert sweep_reminders().startswith("created 0, in-app 0, queued 0")


@pytest.mark.req("P3.2", "P3.3")
def test_stalled_reminder_sends_wait_for_the_bulk_queue_and_never_jump_ahead_of_replies(
    due, session, session_factory, settings, redis_conn, cipher
):
    """The sweeper leaves a reminder sweep's rows to the bulk jobs while they are queued; a
    reply stalled meanwhile goes back to the outbound queue; once the bulk queue is idle,
    the reminder rows still pending are handed back to it."""
    from rq import Queue

    from bot import container
    from bot.jobs.queues import enqueue_sends
    from bot.jobs.sweeper import requeue_stalled
    from bot.services import notify
    from server import bootstrap

    container.install(bootstrap(settings))
    result, _ = run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 8), 10))
    enqueue_sends(redis_conn, result.outbox_ids)
    reply = notify.text(session, Channel.MP, "o_zhang", "好的，已为您记录", key="reply:1")
    old = datetime.now(UTC) - timedelta(minutes=5)
    session.execute(OutboxMessage.__table__.update().values(created_at=old))
    session.commit()
    bulk, outbound = Queue("bulk", connection=redis_conn), Queue("outbound", connection=redis_conn)
    assert requeue_stalled() == {"inbox": 0, "outbox": 1, "bulk": 0, "reports": 0}
    assert outbound.job_ids == [f"outbound-{reply}"] and bulk.count == 1
    bulk.empty()  # the batch job is gone (a worker died with it): the rows go back to bulk
    outbound.empty()
    assert requeue_stalled() == {"inbox": 0, "outbox": 3, "bulk": 2, "reports": 0}
    assert outbound.job_ids == [f"outbound-{reply}"]
    assert sorted(bulk.jobs[0].args[0]) == sorted(result.outbox_ids)


@pytest.mark.req("P3.1")
def test_in_app_messages_worded_by_the_database_read_as_python_words_them(
    due, session_factory, cipher, settings
):
    from bot.services import dictionary as dictionary_service

    for day in (date(2026, 12, 8), date(2026, 12, 10), date(2026, 12, 13)):
        run(session_factory, None, cipher, settings, at(settings, day, 10))
    with session_factory() as s:
        device = dictionary_service.current(s).label("device_types", "PICC")
        got = [(m.title, m.body) for m in s.scalars(select(InAppMessage).order_by(InAppMessage.id))]
    assert got == [
        reminders.words(kind, "张三", device, date(2026, 12, 10), overdue)
        for kind, overdue in (
            (ReminderKind.BEFORE, 0),
            (ReminderKind.DUE, 0),
            (ReminderKind.OVERDUE, 3),
        )
    ]
    assert got[2][1] == "张三的PICC维护已逾期3天（应于12月10日），请尽快到医院或就近机构维护。"


@pytest.mark.req("P3.2")
def test_the_wechat_reminder_falls_back_to_the_configured_template_message(
    due, session_factory, cipher, settings
):
    run(
        session_factory,
        None,
        cipher,
        settings,
        at(settings, date(2026, 12, 10), 10),
        reminder_api="template",
        reminder_template="tpl_maint",
    )
    with session_factory() as s:
        mp = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == Channel.MP))
        reminder = s.scalar(select(Reminder).where(Reminder.channel == Channel.MP))
    fallback = mp.payload["_fallback"]
    assert fallback["_api"] == "template" and fallback["template_id"] == "tpl_maint"
    assert fallback["url"] == "https://vam.example/h5/home" and "page" not in fallback
    assert fallback["data"]["thing3"] == {"value": "今日需维护导管"}
    assert reminder.status is DeliveryStatus.QUEUED  # its outbox row tells the outcome


@pytest.mark.req("P3.2")
def test_history_says_sent_when_the_closed_window_fallback_went_out(
    due, session_factory, cipher, settings
):
    """The WeChat text is refused (48-hour window closed); its subscribe/template fallback is
    sent: the reminder history says sent, not the first attempt's failure."""
    run(session_factory, None, cipher, settings, at(settings, date(2026, 12, 8), 10))
    with session_factory() as s:
        mp = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == Channel.MP))
        mp.status, mp.last_error = DeliveryStatus.FAILED, "window_closed"
        s.add(
            OutboxMessage(
                dedupe_key=f"{mp.dedupe_key}:fallback",
                channel=mp.channel,
                recipient=mp.recipient,
                msg_type="subscribe",
                payload=mp.payload["_fallback"],
                status=DeliveryStatus.SENT,
            )
        )
        s.commit()
        words = {h.channel: h.status for h in reminders.history(s, due.id, settings.timezone)}
    assert words["微信"] == "已发送（改发服务通知）"


@pytest.mark.req("P3.2", "P3.3")
def test_a_patient_not_reachable_on_the_chosen_channel_gets_the_next_one(
    session, session_factory, cipher, settings
):
    """WeChat only was chosen, but no bound account follows the official account: the WeChat
    reminder is recorded as failed with the reason and the SMS goes out instead — once."""
    p = Patient(
        name="赵六",
        reminder_channels=["inapp", "mp"],
        phone_enc=cipher.encrypt("13700003333", context="patient.phone"),
    )
    session.add(p)
    session.flush()
    session.add(
        Catheter(
            patient_id=p.id,
            device_type="PICC",
            next_due_on=date(2026, 12, 10),
            placed_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
    )
    session.commit()
    now = at(settings, date(2026, 12, 10), 10)
    result, _ = run(session_factory, None, cipher, settings, now)
    assert len(result.outbox_ids) == 1
    with session_factory() as s:
        rows = {r.channel: r for r in s.scalars(select(Reminder))}
        assert set(rows) == {Channel.INAPP, Channel.MP, Channel.SMS}
        assert rows[Channel.MP].status is DeliveryStatus.FAILED
        assert rows[Channel.MP].last_error == reminders.NO_FOLLOWER
        [sms] = s.scalars(select(OutboxMessage)).all()
        assert sms.channel is Channel.SMS and sms.dedupe_key == f"reminder:{rows[Channel.SMS].id}"
    again, _ = run(session_factory, None, cipher, settings, now + timedelta(minutes=5))
    assert again.created == 0 and again.outbox_ids == []
