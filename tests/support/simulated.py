"""The WeChat simulator with the product's processes pointed at it, for end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from devtools.wechat_sim import callbacks
from devtools.wechat_sim.config import SimConfig
from devtools.wechat_sim.server import LiveSim
from tests.support import processes
from tests.support.callbacks import sim_config


@contextmanager
def simulated_wechat(
    settings: Settings, instance: Path, **extra: str
) -> Iterator[tuple[LiveSim, SimConfig, dict[str, str], tuple[int, int, int]]]:
    """The WeChat simulator, and the environment that points web, worker, Rasa and the action
    server at it: (simulator, its config, environment, (web, Rasa, actions) ports)."""
    ports = web_port, rasa_port, actions_port = tuple(processes.free_port() for _ in range(3))
    cfg = sim_config(settings)
    cfg.product_base_url = f"http://127.0.0.1:{web_port}"
    with LiveSim(cfg) as sim:
        live = replace(
            settings,
            wechat_api_base=sim.mp_api_base,
            wecom_api_base=sim.work_api_base,
            rasa_url=f"http://127.0.0.1:{rasa_port}",
        )
        env = processes.product_env(
            live,
            instance,
            RASA_PORT=str(rasa_port),
            ACTIONS_URL=f"http://127.0.0.1:{actions_port}/webhook",
            **extra,
        )
        if settings.redis_url:
            from bot.infra.redis import connect

            connect(settings).flushdb()
        try:
            yield sim, cfg, env, ports
        finally:
            processes.stop_embedded_redis(instance)


def work_reply(sim: LiveSim, cfg: SimConfig, user: str, xml: str, expect: str) -> str:
    """Post a signed WeChat Work callback from ``user`` and wait (up to a minute) for the first
    message the bot then sends them that contains ``expect``; the failure lists what they got."""
    seen = len(sim.state.messages("work", user))
    callbacks.post_work(cfg, xml)

    def since() -> list[str]:
        return [str(m["payload"]) for m in sim.state.messages("work", user)[seen:]]

    try:
        return str(
            processes.wait_until(
                lambda: next((t for t in since() if expect in t), None),
                timeout=60,
                what=repr(expect),
            )
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {user} got {since()}") from exc
