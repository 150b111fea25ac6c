"""Whatever breaks inside a turn, the person hears something (issue 12 §2 and §8): an action
that raises answers with an apology (the action server's executor), an engine that answers a
text with nothing gets the same, a turn given up on sends it once, and an engine outage longer
than 20 s gets one holding reply per person — then the real answer once the engine is back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select, text, update

from bot import container
from bot.jobs.queues import enqueue_turn
from bot.models import InboxMessage, OutboxMessage, utcnow
from bot.models.enums import InboxStatus
from nlu.actions.failsafe import FailSafeExecutor
from server import bootstrap, create_app
from tests.support import callbacks as cb
from tests.support.forms import run_coroutine

pytestmark = [pytest.mark.db, pytest.mark.redis]
PHONE = "0571-87236666"


@pytest.fixture
def live_settings(live_settings):
    return replace(live_settings, hospital_phone=PHONE)


@pytest.fixture
def app(live_settings, engine, redis_conn):
    return create_app(live_settings)


@pytest.fixture
def worker(live_settings, engine, redis_conn):
    container.install(bootstrap(live_settings))

    def run():
        queues = [Queue(q, connection=redis_conn) for q in ("inbound",)]
        SimpleWorker(queues, connection=redis_conn).work(burst=True)

    yield run
    container.install(None)


def post(app, settings, openid, text):
    path, body = cb.mp_request(settings, cb.mp_text_xml(openid, text))
    assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"


def said(session_factory, openid):
    with session_factory() as s:
        rows = s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == openid)
            .order_by(OutboxMessage.id)
        ).all()
        return [r.payload["text"]["content"] for r in rows]


def inbox(session_factory):
    with session_factory() as s:
        return s.scalars(select(InboxMessage).order_by(InboxMessage.id)).all()


def nurse_call(action: str) -> dict:
    message = {
        "intent": {"name": "due_today"},
        "entities": [],
        "text": "今日待维护",
        "metadata": {"role": "nurse", "channel": "work", "staff_id": 1, "inbox_id": 42},
    }
    tracker = {
        "sender_id": "work:n1",
        "slots": {},
        "latest_message": message,
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": action, "sender_id": "work:n1", "tracker": tracker, "domain": {}}


@pytest.mark.usefixtures("action_runtime")
def test_an_action_that_raises_answers_with_an_apology_naming_the_hospitals_number(
    session_factory, settings
):
    """The benchmark's case: no clinical dictionary in the database, so the due list raises
    NoDictionary inside the action."""
    container.current().settings = replace(settings, hospital_phone=PHONE)
    with session_factory() as s:
        s.execute(text("DELETE FROM clinical_dictionaries"))
        s.commit()
    executor = FailSafeExecutor()
    executor.register_package("nlu.actions")
    # like the forms' tests: this thread may already run an event loop (Playwright's)
    result = run_coroutine(executor.run(nurse_call("action_due_today")))
    [message] = result.model_dump()["responses"]
    card = message["custom"]
    assert card["card"] == "apology" and PHONE in card["text"] and "稍后再试" in card["text"]
    assert card["action"] == "action_due_today" and "NoDictionary" in card["error"]
    assert result.model_dump()["events"] == []


def test_the_apology_reaches_the_person_once_and_the_error_is_kept_for_admins(
    app, live_settings, worker, rasa, session_factory, redis_conn
):
    rasa.answer = [
        {
            "custom": {
                "card": "apology",
                "text": f"抱歉……请拨打{PHONE}",
                "action": "action_due_today",
                "error": "NoDictionary: none",
            }
        }
    ]
    post(app, live_settings, "o_sorry", "我的导管")
    worker()
    enqueue_turn(redis_conn, inbox(session_factory)[0].id)  # a retry changes nothing
    worker()
    assert said(session_factory, "o_sorry") == [f"抱歉……请拨打{PHONE}"]
    [row] = inbox(session_factory)
    assert row.status is InboxStatus.DONE
    assert row.last_error == "action_due_today: NoDictionary: none"


def test_a_text_the_engine_answers_with_nothing_gets_the_apology(
    app, live_settings, worker, rasa, session_factory
):
    rasa.answer = []
    post(app, live_settings, "o_void", "在吗")
    worker()
    [text] = said(session_factory, "o_void")
    assert "系统暂时无法处理" in text and PHONE in text
    assert "gave no answer" in inbox(session_factory)[0].last_error


def test_a_turn_given_up_on_still_tells_the_person(
    app, live_settings, worker, rasa, session_factory, redis_conn
):
    def broken(reply, channel):
        raise RuntimeError("a card that cannot be drawn")

    container.current().render = broken
    post(app, live_settings, "o_broken", "你好")
    for _ in range(8):  # MAX_TURN_ATTEMPTS
        with session_factory() as s:
            s.execute(update(InboxMessage).values(next_attempt_at=None))
            s.commit()
        enqueue_turn(redis_conn, inbox(session_factory)[0].id)
        worker()
    [row] = inbox(session_factory)
    assert row.status is InboxStatus.FAILED
    [text] = said(session_factory, "o_broken")
    assert "系统暂时无法处理" in text


def test_an_engine_outage_gets_one_holding_reply_per_person_then_the_answer(
    app, live_settings, worker, rasa, session_factory, redis_conn
):
    rasa.down = True
    for openid in ("o_wait", "o_wait", "o_also"):
        post(app, live_settings, openid, "手臂有点肿")
    worker()
    assert said(session_factory, "o_wait") == []  # a short outage: nothing said yet

    def later():  # as if 25 s had passed since the messages arrived
        with session_factory() as s:
            s.execute(update(InboxMessage).values(received_at=utcnow() - timedelta(seconds=25)))
            s.commit()
        for row in inbox(session_factory):
            enqueue_turn(redis_conn, row.id)
        worker()

    later()
    later()
    holding = f"系统正在恢复，您的消息已收到，稍后回复您；紧急情况请拨打{PHONE}或前往急诊。"
    assert said(session_factory, "o_wait") == [holding]
    assert said(session_factory, "o_also") == [holding]
    rasa.down = False
    later()
    assert said(session_factory, "o_wait") == [holding, "收到：手臂有点肿", "收到：手臂有点肿"]
    assert said(session_factory, "o_also") == [holding, "收到：手臂有点肿"]
    assert {r.status for r in inbox(session_factory)} == {InboxStatus.DONE}


def test_administrators_see_what_broke_but_not_what_the_person_wrote(
    app, live_settings, worker, rasa, session_factory
):
    from bot.models import Institution, Staff
    from bot.models.enums import StaffRole
    from bot.services import auth
    from tests.integration.test_staff_web import sign_in

    card = {
        "card": "apology",
        "text": "抱歉",
        "action": "action_due_today",
        "error": "NoDictionary: none",
    }
    rasa.answer = [{"custom": card}]
    post(app, live_settings, "o_secretive", "我的PICC穿刺点红肿")
    worker()
    with session_factory() as s:
        home = Institution(code="H", name="本院", is_home=True)
        s.add(
            Staff(
                institution=home,
                staff_no="A1",
                name="管理员",
                role=StaffRole.ADMIN,
                password_hash=auth.hash_password("Admin1234"),
                password_changed_at=utcnow(),
            )
        )
        s.commit()
    client = app.test_client()
    sign_in(client, "A1", "Admin1234")
    page = client.get("/admin/problems/").get_data(as_text=True)
    assert "action_due_today: NoDictionary: none" in page and "已答复（致歉）" in page
    assert "穿刺点红肿" not in page and "o_secretive" not in page
