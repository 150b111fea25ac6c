"""Turns in a real RQ worker against a real Rasa-protocol HTTP server: exactly once, in order,
nothing lost while the engine is down."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from bot import container
from bot.models import (
    InboxMessage,
    Institution,
    OutboxMessage,
    Patient,
    PatientAccount,
    Staff,
)
from bot.models.enums import InboxStatus, StaffRole
from server import bootstrap, create_app
from tests.support import callbacks as cb

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def app(live_settings, engine, redis_conn):
    return create_app(live_settings)


@pytest.fixture
def worker(live_settings, engine, redis_conn):
    """Run queued jobs in this process, the way `python -m server.worker` does."""
    container.install(bootstrap(live_settings))

    def run(queues=("inbound",)):
        SimpleWorker([Queue(q, connection=redis_conn) for q in queues], connection=redis_conn).work(
            burst=True
        )

    return run


def post_mp(app, settings, xml):
    path, body = cb.mp_request(settings, xml)
    assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"


def rows(session_factory, model):
    with session_factory() as s:
        return s.scalars(select(model).order_by(model.id)).all()


def test_a_new_patient_text_runs_one_turn_with_patient_metadata(
    app, live_settings, worker, rasa, session_factory
):
    post_mp(app, live_settings, cb.mp_text_xml("o_new", "你好"))
    worker()
    [sent] = rasa.requests
    assert sent["sender"] == "mp:o_new" and sent["message"] == "你好"
    assert sent["metadata"]["role"] == "patient" and sent["metadata"]["bound"] is False
    [account] = rows(session_factory, PatientAccount)
    assert account.openid == "o_new" and account.last_inbound_at is not None
    [inbox] = rows(session_factory, InboxMessage)
    assert inbox.status == InboxStatus.DONE and inbox.replies == [{"text": "收到：你好"}]
    [out] = rows(session_factory, OutboxMessage)
    assert (out.recipient, out.payload["text"]["content"]) == ("o_new", "收到：你好")


def test_a_very_long_text_is_cut_to_a_prefix_and_the_person_is_told(
    app, live_settings, worker, rasa, session_factory
):
    post_mp(app, live_settings, cb.mp_text_xml("o_long", "手臂肿" * 400))
    worker()
    [sent] = rasa.requests
    assert len(sent["message"]) == 500 and sent["metadata"]["inbox_id"]
    texts = [o.payload["text"]["content"] for o in rows(session_factory, OutboxMessage)]
    assert "您的消息较长，我先阅读了前500个字" in texts[0]


def test_menu_click_reaches_the_engine_as_an_intent(app, live_settings, worker, rasa):
    post_mp(app, live_settings, cb.mp_event_xml("o_p", "CLICK", "my_catheter"))
    worker()
    assert rasa.messages_of("mp:o_p") == ["/my_catheter"]


def test_clinician_metadata_carries_role_and_institution(app, live_settings, worker, rasa, session):
    home = Institution(code="HOME", name="本院", is_home=True)
    session.add(
        Staff(
            institution=home,
            staff_no="N1",
            name="李护士",
            role=StaffRole.NURSE,
            wecom_userid="n0001",
        )
    )
    session.commit()
    path, body = cb.work_request(
        live_settings,
        cb.work_text_xml("n0001", "今日待维护", agent_id=live_settings.wecom_agent_id),
    )
    app.test_client().post(path, data=body)
    path, body = cb.work_request(
        live_settings, cb.work_text_xml("stranger", "你好", agent_id=live_settings.wecom_agent_id)
    )
    app.test_client().post(path, data=body)
    worker()
    meta = {r["sender"]: r["metadata"] for r in rasa.requests}
    assert meta["work:n0001"]["role"] == "nurse" and meta["work:n0001"]["institution_id"] == home.id
    assert meta["work:stranger"]["role"] == "unknown"


def test_messages_kept_while_the_engine_is_down_are_answered_once_it_is_back(
    app, live_settings, worker, rasa, session_factory
):
    rasa.down = True
    post_mp(app, live_settings, cb.mp_text_xml("o_wait", "第一条"))
    worker()
    [inbox] = rows(session_factory, InboxMessage)
    assert inbox.status == InboxStatus.PENDING and "Rasa" in inbox.last_error
    assert inbox.next_attempt_at is not None and rows(session_factory, OutboxMessage) == []
    rasa.down = False
    from bot.container import current
    from bot.jobs.queues import enqueue_turn

    enqueue_turn(current().redis, inbox.id)  # what the sweeper or RQ's retry does
    worker()
    assert rasa.messages_of("mp:o_wait") == ["第一条"]
    assert [o.payload["text"]["content"] for o in rows(session_factory, OutboxMessage)] == [
        "收到：第一条"
    ]


def test_turns_of_one_user_run_in_the_order_they_arrived(app, live_settings, worker, rasa):
    for n in range(6):
        post_mp(app, live_settings, cb.mp_text_xml("o_order", f"消息{n}"))
    worker()
    assert rasa.messages_of("mp:o_order") == [f"消息{n}" for n in range(6)]


def test_rerunning_a_finished_turn_asks_nothing_and_sends_nothing_new(
    app, live_settings, worker, rasa, session_factory, redis_conn
):
    post_mp(app, live_settings, cb.mp_text_xml("o_twice", "一次"))
    worker()
    [inbox] = rows(session_factory, InboxMessage)
    from bot.jobs.queues import enqueue_turn

    enqueue_turn(redis_conn, inbox.id)
    worker()
    assert len(rasa.requests) == 1 and len(rows(session_factory, OutboxMessage)) == 1


def test_a_crash_after_the_engine_answered_neither_asks_again_nor_loses_the_reply(
    app, live_settings, worker, rasa, session_factory, redis_conn, monkeypatch
):
    import cards

    calls = {"n": 0}
    real_render = cards.render

    def crash_once(reply, channel):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker died while rendering")
        return real_render(reply, channel)

    container.current().render = crash_once
    post_mp(app, live_settings, cb.mp_text_xml("o_crash", "在吗"))
    worker()
    [inbox] = rows(session_factory, InboxMessage)
    assert inbox.status == InboxStatus.PENDING and inbox.replies == [{"text": "收到：在吗"}]
    from bot.jobs.queues import enqueue_turn

    enqueue_turn(redis_conn, inbox.id)
    worker()
    assert len(rasa.requests) == 1
    [out] = rows(session_factory, OutboxMessage)
    assert out.payload["text"]["content"] == "收到：在吗"


def test_unsubscribe_marks_the_account_and_needs_no_conversation(
    app, live_settings, worker, rasa, session_factory
):
    post_mp(app, live_settings, cb.mp_text_xml("o_leave", "再见"))
    post_mp(app, live_settings, cb.mp_event_xml("o_leave", "unsubscribe"))
    worker()
    assert rasa.messages_of("mp:o_leave") == ["再见"]
    [account] = rows(session_factory, PatientAccount)
    assert account.subscribed is False
    assert all(r.status == InboxStatus.DONE for r in rows(session_factory, InboxMessage))


def test_a_card_button_click_first_updates_the_card_then_answers(
    app, live_settings, worker, rasa, session_factory
):
    from devtools.wechat_sim import callbacks as sim_cb

    xml = sim_cb.work_template_card_event("n0001", "task-1", "/affirm", response_code="rc-1")
    path, body = cb.work_request(live_settings, xml)
    assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"
    worker()
    assert rasa.messages_of("work:n0001") == ["/affirm"]
    update, answer = rows(session_factory, OutboxMessage)
    assert update.msg_type == "update_template_card" and update.payload["response_code"] == "rc-1"
    assert answer.payload["text"]["content"] == "意图：/affirm"


@pytest.mark.req("P1.1")
def test_a_first_message_retried_after_an_outage_still_gets_the_welcome(
    app, live_settings, worker, rasa, session_factory, redis_conn
):
    """The first attempt records the message as the follower's last one before it asks the
    engine; the retry must still tell the engine it is their first contact."""
    from bot.jobs.queues import enqueue_turn

    rasa.down = True
    post_mp(app, live_settings, cb.mp_text_xml("o_newcomer", "你好"))
    worker()
    [inbox] = rows(session_factory, InboxMessage)
    assert inbox.status == InboxStatus.PENDING
    rasa.down = False
    enqueue_turn(redis_conn, inbox.id)
    worker()
    [request] = [r for r in rasa.requests if r["sender"] == "mp:o_newcomer"]
    assert request["metadata"]["first_contact"] is True
    post_mp(app, live_settings, cb.mp_text_xml("o_newcomer", "第二句"))
    worker()
    assert rasa.requests[-1]["metadata"]["first_contact"] is False


@pytest.fixture
def nurse_and_patients(session_factory):
    with session_factory() as s:
        home = Institution(code="HOME", name="本院", is_home=True)
        nurse = Staff(
            institution=home,
            staff_no="N1",
            name="李护士",
            role=StaffRole.NURSE,
            wecom_userid="n0001",
        )
        s.add_all([nurse, Patient(name="张金根"), Patient(name="张金")])
        s.commit()


def post_work(app, settings, userid, text):
    path, body = cb.work_request(
        settings, cb.work_text_xml(userid, text, agent_id=settings.wecom_agent_id)
    )
    assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"


@pytest.mark.req("C2.2")
@pytest.mark.usefixtures("nurse_and_patients")
def test_a_clinicians_message_that_is_only_a_name_looks_that_patient_up(
    app, live_settings, worker, rasa
):
    post_work(app, live_settings, "n0001", "张金根？")
    worker()
    [request] = rasa.requests
    assert request["message"] == '/search_patient{"patient_name": "张金根"}'
    assert request["metadata"]["patient_names"] == ["张金根"]  # not "张金" inside it


@pytest.mark.req("C2.2")
@pytest.mark.usefixtures("nurse_and_patients")
def test_a_name_typed_for_a_form_stays_the_forms_answer(app, live_settings, worker, rasa):
    rasa.forms["work:n0001"] = "maintenance_form"
    post_work(app, live_settings, "n0001", "张金根")
    worker()
    assert rasa.requests[-1]["message"] == "张金根"
    assert rasa.requests[-1]["metadata"]["patient_names"] == ["张金根"]


@pytest.mark.req("C2.2")
@pytest.mark.usefixtures("nurse_and_patients")
def test_names_in_a_clinicians_sentence_and_guesses_for_unknown_ones_reach_the_engine(
    app, live_settings, worker, rasa
):
    post_work(app, live_settings, "n0001", "查一下张金根的维护记录")
    post_work(app, live_settings, "n0001", "帮我看看王小明的导管")
    worker()
    known, unknown = rasa.requests
    assert known["message"] == "查一下张金根的维护记录"
    assert known["metadata"]["patient_names"] == ["张金根"]
    assert unknown["metadata"]["name_guesses"] == ["王小明"]
    assert "patient_names" not in unknown["metadata"]
