"""The product's own processes (web, worker …) started as subprocesses, the way the
Procfile starts them, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

import requests

from bot.config import ROOT, Settings

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def product_env(settings: Settings, instance: Path, **extra: str) -> dict[str, str]:
    """The environment that makes a subprocess use the same services as the test."""
    env = {
        **os.environ,
        "APP_ENV": "test",
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "DATA_KEY": "a" * 43,
        "MEDIA_ROOT": str(settings.media_root),
        "WECHAT_MP_APPID": settings.wechat_mp_appid,
        "WECHAT_MP_SECRET": settings.wechat_mp_secret,
        "WECHAT_MP_TOKEN": settings.wechat_mp_token,
        "WECHAT_MP_AES_KEY": settings.wechat_mp_aes_key,
        "WECOM_CORP_ID": settings.wecom_corp_id,
        "WECOM_AGENT_ID": settings.wecom_agent_id,
        "WECOM_SECRET": settings.wecom_secret,
        "WECOM_TOKEN": settings.wecom_token,
        "WECOM_AES_KEY": settings.wecom_aes_key,
        "WECHAT_API_BASE": settings.wechat_api_base,
        "WECOM_API_BASE": settings.wecom_api_base,
        "RASA_URL": settings.rasa_url,
        **extra,
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def stop_embedded_redis(instance: Path) -> None:
    """Subprocesses without REDIS_URL started an embedded redis-server there: stop it."""
    pid_file = instance / "redis.pid"
    if pid_file.exists():
        with suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


@contextmanager
def running(
    cmd: list[str],
    env: dict[str, str],
    ready: Callable[[], bool] | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # read the output as it comes: a busy worker logs more than a pipe holds, and a process
    # whose pipe is full stops at its next log line
    tail: deque[bytes] = deque(maxlen=400)
    reader = threading.Thread(target=lambda: tail.extend(proc.stdout or []), daemon=True)
    reader.start()

    def output() -> str:
        return b"".join(tail).decode(errors="replace")

    try:
        deadline = time.monotonic() + timeout
        while ready is not None and not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not become ready:\n{output()[-3000:]}")
            time.sleep(0.2)
        yield proc
    except BaseException:
        _stop(proc)
        reader.join(timeout=5)
        print(f"--- output of {' '.join(cmd)} ---\n{output()[-6000:]}", file=sys.stderr)
        raise
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    return check


def web(env: dict[str, str], port: int):  # type: ignore[no-untyped-def]
    cmd = [
        str(BIN / "gunicorn"),
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        "2",
        "--threads",
        "4",
        "wsgi:app",
    ]
    return running(cmd, env, http_ok(f"http://127.0.0.1:{port}/healthz"))


def worker(env: dict[str, str], *queues: str):  # type: ignore[no-untyped-def]
    return running([sys.executable, "-m", "server.worker", *queues], env)


@contextmanager
def dialogue_system(
    env: dict[str, str],
    *,
    web_port: int,
    rasa_port: int,
    actions_port: int,
    rasa_timeout: float = 240,
    ocr: bool = False,
) -> Iterator[None]:
    """What the Procfile starts for a conversation: the action server, Rasa with the model of
    nlu/ (trained first if nlu/ changed), web and a worker (and with ``ocr`` the worker that
    reads report photos). ``env`` must carry RASA_PORT and ACTIONS_URL for these ports."""
    actions = [sys.executable, "-m", "server.actions", "--port", str(actions_port)]
    with (
        running(actions, env, http_ok(f"http://127.0.0.1:{actions_port}/health")),
        running(
            ["scripts/rasa.sh", "run"],
            env,
            http_ok(f"http://127.0.0.1:{rasa_port}/status"),
            timeout=rasa_timeout,
        ),
        web(env, web_port),
        worker(env),
        worker(env, "reports") if ocr else nullcontext(),
    ):
        yield


def wait_until(
    predicate: Callable[[], object], timeout: float = 30, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
