"""The dialogue engine on this machine: Rasa's ``/model/parse`` latency, and a full turn —
signed callback in → inbox → worker → Rasa → action server → reply delivered to the WeChat
simulator's API — for patients and a nurse. Target (issue 4): full turn p95 under 500 ms.

Starts what the Procfile starts (action server, Rasa with the model trained from nlu/, web,
worker) against the simulator. Uses DATABASE_URL and REDIS_URL when set, else the embedded
defaults in a temporary instance folder.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import requests
from sqlalchemy import select

from bot import migrate
from bot.config import load_settings
from bot.db import make_engine, make_session_factory
from bot.models import Institution, Staff
from bot.models.enums import StaffRole
from bot.services import dictionary as dictionary_service
from devtools.wechat_sim import callbacks as sim_cb
from devtools.wechat_sim.server import LiveSim
from tests.support import processes
from tests.support.callbacks import sim_config

PARSES = 200
TURNS = 60
PATIENT_TEXTS = [
    "附近哪里可以维护PICC",
    "PICC能洗澡吗",
    "带管的胳膊有点肿",
    "你好",
    "谢谢",
    "隐私政策",
    "菜单",
    "帮我找一下护士",
]
NURSE_TEXTS = ["今日待维护", "查患者 王建华", "菜单"]


def _env(instance: Path) -> dict[str, str]:
    env = {
        "APP_ENV": "test",
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "bench",
        "DATA_KEY": "a" * 43,
        "WECHAT_MP_APPID": "wx_bench",
        "WECHAT_MP_SECRET": "s",
        "WECHAT_MP_TOKEN": "bench_token",
        "WECHAT_MP_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "WECOM_CORP_ID": "ww_bench",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "w",
        "WECOM_TOKEN": "bench_work_token",
        "WECOM_AES_KEY": "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
    }
    for key in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] * 1000


def _turn(sim: LiveSim, post, channel: str, user: str) -> float:  # type: ignore[no-untyped-def]
    before = len(sim.state.messages(channel, user))
    t0 = time.perf_counter()
    post()
    deadline = t0 + 30
    while len(sim.state.messages(channel, user)) == before:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no reply for {user} within 30 s")
        time.sleep(0.002)
    return time.perf_counter() - t0


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="bench-dialogue-"))
    settings = load_settings(_env(instance))
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with make_session_factory(engine)() as s:
        dictionary_service.ensure_default(s)  # what `flask init-db` writes: an empty database works
        # one nurse per nurse turn: WeChat Work drops identical content sent to the same member
        # within a minute, and the same question gets the same answer
        home = s.scalar(select(Institution).where(Institution.code == "BENCH"))
        if home is None:
            home = Institution(code="BENCH", name="基准测试医院", is_home=False)
        for n in range(TURNS + 4):
            if s.scalar(select(Staff).where(Staff.wecom_userid == f"n_bench_{n}")) is None:
                s.add(
                    Staff(
                        institution=home,
                        staff_no=f"BN{n:03d}",
                        name="李护士",
                        role=StaffRole.NURSE,
                        wecom_userid=f"n_bench_{n}",
                    )
                )
        s.commit()
    engine.dispose()
    web_port, rasa_port, actions_port = (processes.free_port() for _ in range(3))
    cfg = sim_config(settings)
    cfg.product_base_url = f"http://127.0.0.1:{web_port}"
    rasa = f"http://127.0.0.1:{rasa_port}"
    with LiveSim(cfg) as sim:
        live = replace(
            settings,
            wechat_api_base=sim.mp_api_base,
            wecom_api_base=sim.work_api_base,
            rasa_url=rasa,
        )
        env = processes.product_env(
            live,
            instance,
            RASA_PORT=str(rasa_port),
            ACTIONS_URL=f"http://127.0.0.1:{actions_port}/webhook",
        )
        try:
            with processes.dialogue_system(
                env,
                web_port=web_port,
                rasa_port=rasa_port,
                actions_port=actions_port,
                rasa_timeout=300,
            ):
                texts = PATIENT_TEXTS + NURSE_TEXTS
                parse = []
                with requests.Session() as http:
                    for i in range(PARSES + 10):
                        t0 = time.perf_counter()
                        http.post(
                            f"{rasa}/model/parse", json={"text": texts[i % len(texts)]}, timeout=10
                        ).raise_for_status()
                        if i >= 10:  # warm-up
                            parse.append(time.perf_counter() - t0)
                turns = []
                for i in range(TURNS + 4):
                    if i % 4 == 3:
                        nurse = f"n_bench_{i}"
                        xml = sim_cb.work_text(nurse, NURSE_TEXTS[i % len(NURSE_TEXTS)])
                        dt = _turn(sim, partial(sim_cb.post_work, cfg, xml), "work", nurse)
                    else:
                        user = f"o_bench_{i % 3}"
                        sim.state.user_message(user)  # opens the 48-hour service window
                        xml = sim_cb.mp_text(user, PATIENT_TEXTS[i % len(PATIENT_TEXTS)])
                        dt = _turn(sim, partial(sim_cb.post_mp, cfg, xml), "mp", user)
                    if i >= 4:  # warm-up
                        turns.append(dt)
        finally:
            processes.stop_embedded_redis(instance)
    db = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    print(f"dialogue engine, {os.cpu_count()} cores, {db}, Rasa 3.6 with the model of nlu/")
    print(f"{'measure':<42} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}")
    print(
        f"{'Rasa /model/parse':<42} {len(parse):>4} {_pct(parse, 50):8.1f} {_pct(parse, 95):8.1f}"
    )
    print(
        f"{'full turn: callback in → reply delivered':<42} {len(turns):>4} "
        f"{_pct(turns, 50):8.1f} {_pct(turns, 95):8.1f}   (target p95 < 500 ms)"
    )


if __name__ == "__main__":
    main()
