"""Signed callbacks into the real web process, turns in a real worker process, replies
delivered to the WeChat simulator: nothing is lost while the worker is stopped, turns of a
user keep their order, and a failing WeChat API delays but does not lose a reply."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from sqlalchemy import func, select

from bot.models import InboxMessage
from bot.models.enums import InboxStatus
from devtools.wechat_sim import callbacks as sim_cb
from tests.support import processes
from tests.support.system import product_with_simulators

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def system(settings, engine, tmp_path):
    with product_with_simulators(settings, tmp_path / "instance", worker=False) as running:
        yield running


def post_text(sim, openid, text):
    sim.state.user_message(openid)  # what WeChat notes when the user writes
    resp = sim_cb.post_mp(sim.config, sim_cb.mp_text(openid, text))
    assert resp.status_code == 200 and resp.text == "success"


def bot_texts(sim, openid):
    return [m["payload"].get("content") for m in sim.state.messages("mp", openid)]


def test_callbacks_are_kept_while_the_worker_is_stopped_and_answered_in_order_after(
    system, session_factory
):
    sim, rasa, env = system
    for n in range(3):
        post_text(sim, "o_a", f"甲{n}")
    for n in range(2):
        post_text(sim, "o_b", f"乙{n}")
    with session_factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.status == InboxStatus.PENDING)
            )
            == 5
        )
    assert bot_texts(sim, "o_a") == []

    with processes.worker(env):
        processes.wait_until(
            lambda: len(bot_texts(sim, "o_a")) == 3 and len(bot_texts(sim, "o_b")) == 2,
            what="replies",
        )
    assert bot_texts(sim, "o_a") == ["收到：甲0", "收到：甲1", "收到：甲2"]
    assert bot_texts(sim, "o_b") == ["收到：乙0", "收到：乙1"]
    assert rasa.messages_of("mp:o_a") == ["甲0", "甲1", "甲2"]


def test_a_reply_held_up_by_a_failing_wechat_api_is_delivered_once_it_recovers(system):
    sim, rasa, env = system
    sim.state.add_fault("/mp/cgi-bin/message/custom/send", -1, times=2)
    with processes.worker(env):
        post_text(sim, "o_c", "在吗")
        processes.wait_until(lambda: bot_texts(sim, "o_c"), timeout=40, what="the retried reply")
    assert bot_texts(sim, "o_c") == ["收到：在吗"]
    assert len(sim.state.calls(path="/mp/cgi-bin/message/custom/send")) == 3


def test_a_clinician_message_is_answered_in_wechat_work(system):
    sim, rasa, env = system
    with processes.worker(env):
        sim_cb.post_work(sim.config, sim_cb.work_text("n0001", "今日待维护"))
        processes.wait_until(
            lambda: sim.state.messages("work", "n0001"), what="the WeChat Work reply"
        )
    [msg] = sim.state.messages("work", "n0001")
    assert msg["payload"]["content"] == "收到：今日待维护"


def test_a_turn_in_flight_when_its_worker_is_killed_is_answered_once_soon_after_restart(
    system, session_factory
):
    """Issue 12 §1: SIGKILL the worker while the engine is thinking about a patient's message.
    Once a worker (and the scheduler's sweeper) is up again, that message is answered within
    60 s, exactly once; the patient's later message and another patient's are not held."""
    sim, rasa, env = system
    rasa.delay = 5.0
    with processes.worker(env) as doomed:
        post_text(sim, "o_swollen", "手臂肿了怎么办")
        processes.wait_until(lambda: rasa.messages_of("mp:o_swollen"), what="the turn to start")
        os.killpg(doomed.pid, signal.SIGKILL)  # mid-turn: the engine has not answered yet
        doomed.wait()
    rasa.delay = 0.0
    assert bot_texts(sim, "o_swollen") == []
    post_text(sim, "o_swollen", "还有点疼")  # the same patient, after the crash
    post_text(sim, "o_other", "在吗")  # someone else
    scheduler = [sys.executable, "-m", "server.scheduler"]
    with processes.worker(env), processes.running(scheduler, env):
        started = time.monotonic()
        processes.wait_until(lambda: bot_texts(sim, "o_other"), timeout=60, what="o_other")
        other_after = time.monotonic() - started
        processes.wait_until(
            lambda: len(bot_texts(sim, "o_swollen")) == 2, timeout=60, what="both replies"
        )
        swollen_after = time.monotonic() - started
        time.sleep(3)  # anything sent twice would arrive by now
    assert bot_texts(sim, "o_swollen") == ["收到：手臂肿了怎么办", "收到：还有点疼"]
    assert bot_texts(sim, "o_other") == ["收到：在吗"]
    assert swollen_after < 60 and other_after < 10, (swollen_after, other_after)
    with session_factory() as s:
        pending = s.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.status != InboxStatus.DONE)
        )
    assert pending == 0
