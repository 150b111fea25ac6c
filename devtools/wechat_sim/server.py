"""Run the simulator as a real HTTP server in a background thread (tests, benchmarks)."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .config import SimConfig
from .state import SimState


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request (tests and benchmarks make thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LiveSim:
    """A simulator serving on ``host:port`` (port 0 = a free one) in a daemon thread.

    >>> with LiveSim() as sim:                       # doctest: +SKIP
    ...     requests.get(sim.url + "/mp/cgi-bin/token", params=...)

    ``url``, ``mp_api_base`` (``…/mp``: the product's ``WECHAT_API_BASE``), ``work_api_base``
    (``…/work``: ``WECOM_API_BASE``), ``state`` (the :class:`SimState`), ``app``.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        state: SimState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = True,
    ) -> None:
        from . import create_sim_app

        self.state = state or SimState(config or SimConfig())
        self.config = self.state.config
        self.app = create_sim_app(state=self.state)
        self._host, self._port, self._quiet = host, port, quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def mp_api_base(self) -> str:
        return self.url + "/mp"

    @property
    def work_api_base(self) -> str:
        return self.url + "/work"

    def product_env(self) -> dict[str, str]:
        """The product's environment for talking to this simulator."""
        env = self.config.as_env()
        env.update(WECHAT_API_BASE=self.mp_api_base, WECOM_API_BASE=self.work_api_base)
        return env

    def start(self) -> LiveSim:
        if self._server is not None:
            return self
        handler = QuietRequestHandler if self._quiet else None
        self._server = make_server(
            self._host, self._port, self.app, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wechat-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LiveSim:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_live_sim(
    config: SimConfig | None = None,
    *,
    state: SimState | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> LiveSim:
    """Start a :class:`LiveSim` (call ``.stop()``, or use it as a context manager)."""
    return LiveSim(config, state=state, host=host, port=port).start()
