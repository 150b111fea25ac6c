"""A burst, and a crash (issue 12 §1): 100 patients send 4 messages each at once, 10 % of the
callbacks delivered twice, through the real web (gunicorn) and 1 or 3 workers, the WeChat
simulator and an instant Rasa-protocol double (the engine's own time is in bench/dialogue.py):
how long until every reply has reached WeChat, and that none went twice. Then a worker is
killed (SIGKILL) while the engine thinks about a message, and a new worker and the scheduler
are started: how long until that message and one sent after the restart are answered.

Uses DATABASE_URL and REDIS_URL when set, else the embedded defaults.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests

from bench import scratch
from bench.dialogue import _env as bench_env
from bot import migrate
from bot.config import load_settings
from bot.db import make_engine
from devtools.wechat_sim import callbacks as sim_cb
from tests.support import processes
from tests.support.system import product_with_simulators

USERS, MESSAGES, DUPLICATES = 100, 4, 0.10


def _settings(instance: Path, database_url: str):  # type: ignore[no-untyped-def]
    env = {**bench_env(instance), "DATABASE_URL": database_url}  # the dialogue bench's
    return load_settings(env)


def _replies(sim, users: list[str]) -> int:  # type: ignore[no-untyped-def]
    return sum(len(sim.state.messages("mp", u)) for u in users)


def burst(settings, workers: int) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    """Seconds until the last reply, replies, and replies beyond one per message."""
    instance = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    with ExitStack() as stack:
        sim, _rasa, env = stack.enter_context(
            product_with_simulators(settings, instance, worker=False)
        )
        for _ in range(workers):
            stack.enter_context(processes.worker(env))
        users = [f"o_burst_{workers}_{n}" for n in range(USERS)]
        callbacks = []
        for user in users:
            sim.state.user_message(user)
            for m in range(MESSAGES):
                signed = sim_cb.sign_mp(sim.config, sim_cb.mp_text(user, f"第{m}条"))
                callbacks.append(signed)
        sent = callbacks + random.Random(7).sample(callbacks, int(len(callbacks) * DUPLICATES))
        base = sim.config.product_base_url

        def deliver(signed):  # type: ignore[no-untyped-def]
            body = signed.body.encode()
            assert requests.post(signed.url(base), data=body, timeout=10).text == "success"

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(deliver, sent))
        expected = USERS * MESSAGES
        processes.wait_until(lambda: _replies(sim, users) >= expected, timeout=300, what="all")
        last = time.monotonic() - start
        time.sleep(3)
        got = _replies(sim, users)
    return last, got, got - expected


def crash(settings) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds from a new worker's start until the message in flight when the old one was
    killed is answered, and until a message sent after the restart is."""
    instance = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    with product_with_simulators(settings, instance, worker=False) as (sim, rasa, env):
        rasa.delay = 5.0
        with processes.worker(env) as doomed:
            sim.state.user_message("o_crash")
            sim_cb.post_mp(sim.config, sim_cb.mp_text("o_crash", "手臂肿了怎么办"))
            processes.wait_until(lambda: rasa.messages_of("mp:o_crash"), what="the turn")
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait()
        rasa.delay = 0.0
        scheduler = [sys.executable, "-m", "server.scheduler"]
        with processes.worker(env), processes.running(scheduler, env):
            start = time.monotonic()
            sim.state.user_message("o_after")
            sim_cb.post_mp(sim.config, sim_cb.mp_text("o_after", "在吗"))
            processes.wait_until(lambda: sim.state.messages("mp", "o_after"), timeout=120)
            after = time.monotonic() - start
            processes.wait_until(lambda: sim.state.messages("mp", "o_crash"), timeout=120)
            in_flight = time.monotonic() - start
    return in_flight, after


def main() -> None:
    url, _kind = scratch.create("burst")  # an empty inbox: no backlog ahead of the burst
    settings = _settings(Path(tempfile.mkdtemp(prefix="bench-burst-db-")), url)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    print(f"burst: {USERS} users x {MESSAGES} messages at once, {DUPLICATES:.0%} delivered twice")
    for workers in (1, 3):
        last, got, extra = burst(settings, workers)
        print(f"  {workers} worker(s): last reply after {last:.1f} s, {got} replies, {extra} twice")
    in_flight, after = crash(settings)
    scratch.drop("burst")
    print(
        "worker killed mid-turn, then restarted: the message in flight answered "
        f"{in_flight:.1f} s after the restart, one sent after the restart {after:.1f} s"
    )


if __name__ == "__main__":
    main()
