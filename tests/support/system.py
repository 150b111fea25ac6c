"""The product's web process wired to the WeChat simulator and a Rasa-protocol test double."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.infra.redis import connect
from devtools.wechat_sim.server import LiveSim

from . import processes
from .callbacks import sim_config
from .fake_rasa import FakeRasa
from .servers import serve


@contextmanager
def product_with_simulators(
    settings: Settings, instance: Path, *, worker: bool
) -> Iterator[tuple[LiveSim, FakeRasa, dict[str, str]]]:
    """Start web (and a worker if asked) against a live simulator and a fake Rasa."""
    rasa = FakeRasa()
    port = processes.free_port()
    with ExitStack() as stack:
        rasa_url = stack.enter_context(serve(rasa.app))
        cfg = sim_config(settings)
        cfg.product_base_url = f"http://127.0.0.1:{port}"
        sim = stack.enter_context(LiveSim(cfg))
        live = replace(
            settings,
            wechat_api_base=sim.mp_api_base,
            wecom_api_base=sim.work_api_base,
            rasa_url=rasa_url,
        )
        env = processes.product_env(live, instance)
        if settings.redis_url:
            connect(settings).flushdb()
        stack.callback(processes.stop_embedded_redis, instance)
        stack.enter_context(processes.web(env, port))
        if worker:
            stack.enter_context(processes.worker(env))
        yield sim, rasa, env
