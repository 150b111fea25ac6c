"""A simulator of the WeChat official-account and WeChat Work HTTP APIs, plus a "phone" page.

    from devtools.wechat_sim import SimConfig, create_sim_app, start_live_sim

    app = create_sim_app()                      # Flask app: /mp/cgi-bin/…, /work/cgi-bin/…,
                                                # /phone, /_sim/…
    with start_live_sim() as sim:               # a real HTTP server on 127.0.0.1:<free port>
        sim.mp_api_base, sim.work_api_base, sim.state

Run it: ``python -m devtools.wechat_sim`` (port ``SIM_PORT``, default 9100). Nothing here
connects anywhere at import time.
"""

from __future__ import annotations

from flask import Flask

from .config import DEV_API_BASES, DEV_DEFAULTS, SimConfig
from .server import LiveSim, start_live_sim
from .state import ManualClock, SimState

__all__ = [
    "DEV_API_BASES",
    "DEV_DEFAULTS",
    "LiveSim",
    "ManualClock",
    "SimConfig",
    "SimState",
    "create_sim_app",
    "get_sim_state",
    "start_live_sim",
]


def create_sim_app(config: SimConfig | None = None, *, state: SimState | None = None) -> Flask:
    """The simulator's Flask app. ``state`` lets a test share one :class:`SimState` (its
    config wins over ``config`` when both are given)."""
    from . import control, mp_api, phone, work_api

    if state is None:
        state = SimState(config or SimConfig())
    app = Flask(__name__, static_url_path="/_sim/static")
    app.config["MAX_CONTENT_LENGTH"] = 25 << 20
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["wechat_sim"] = state
    app.register_blueprint(mp_api.bp, url_prefix="/mp")
    app.register_blueprint(work_api.bp, url_prefix="/work")
    app.register_blueprint(control.bp)
    app.register_blueprint(phone.bp)
    return app


def get_sim_state(app: Flask) -> SimState:
    """The :class:`SimState` of an app made by :func:`create_sim_app`."""
    return app.extensions["wechat_sim"]
