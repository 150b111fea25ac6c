"""Callback acknowledgement: latency at 200 callbacks/s and maximum throughput, for the
product's /wechat/mp (verify, decrypt, persist, enqueue), the floor of that guarantee
(bench/floor_app.py: the same insert and enqueue and nothing else) and a bare wechatpy echo
handler (no I/O), all under gunicorn on this machine, in the same run.

Uses DATABASE_URL and REDIS_URL when set (PostgreSQL and Redis as in production), else the
embedded defaults in a temporary instance folder.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bot import migrate
from bot.config import ROOT, load_settings
from bot.db import make_engine
from tests.support import callbacks as cb

RATE = 200
SECONDS = 10
CONCURRENCY = 16
WORKERS = "2"  # as in the Procfile
THREADS = "4"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(instance: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "bench",
        "DATA_KEY": "b" * 43,
        "WECHAT_MP_APPID": "wx_bench",
        "WECHAT_MP_SECRET": "s",
        "WECHAT_MP_TOKEN": "bench_token",
        "WECHAT_MP_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    }
    return env


def _start(app: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            WORKERS,
            "--threads",
            THREADS,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(base + "/", timeout=1)
            return proc, base
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def _requests(settings, n: int) -> list[tuple[str, bytes]]:
    return [
        cb.mp_request(settings, cb.mp_text_xml(f"o_bench_{i % 500}", f"消息{i}")) for i in range(n)
    ]


def _open_loop(base: str, reqs: list[tuple[str, bytes]]) -> list[float]:
    """Send at a fixed RATE per second; measure each acknowledgement's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def send(path: str, body: bytes) -> None:
        sess = getattr(local, "s", None) or requests.Session()
        local.s = sess
        t0 = time.perf_counter()
        r = sess.post(base + path, data=body, timeout=10)
        dt = time.perf_counter() - t0
        assert r.text == "success", r.text
        with lock:
            latencies.append(dt)

    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i, (path, body) in enumerate(reqs[: RATE * SECONDS]):
            delay = start + i / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, path, body)
    return latencies


def _closed_loop(base: str, reqs: list[tuple[str, bytes]]) -> float:
    """wrk (C, light on the shared CPUs) with CONCURRENCY connections as fast as the server
    answers, every request a new message; callbacks per second."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for path, body in reqs:
            f.write(path + "\t" + body.decode().replace("\n", "") + "\n")
    threads = "2"
    out = subprocess.run(
        [
            "wrk",
            "-t",
            threads,
            "-c",
            str(CONCURRENCY),
            "-d",
            f"{SECONDS}s",
            "-s",
            str(ROOT / "bench" / "wrk_callbacks.lua"),
            base,
            "--",
            f.name,
            threads,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(f.name).unlink()
    errors = [line for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    if errors:
        raise RuntimeError(f"wrk saw errors: {errors}")
    return float(
        next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    )


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="bench-instance-"))
    env = _env(instance)
    settings = load_settings(env)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    results = {}
    for name, app in (
        ("product /wechat/mp", "wsgi:app"),
        ("floor: insert+enqueue", "bench.floor_app:app"),
        ("bare wechatpy echo", "bench.echo_app:app"),
    ):
        proc, base = _start(app, env)
        try:
            reqs = _requests(settings, RATE * SECONDS + 30_000)
            lat = _open_loop(base, reqs[: RATE * SECONDS])
            tput = _closed_loop(base, reqs[RATE * SECONDS :])
            results[name] = (_pct(lat, 50), _pct(lat, 99), tput)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    db = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    print(
        f"callback acknowledgement, gunicorn -w {WORKERS} --threads {THREADS}, "
        f"{os.cpu_count()} cores, {db}, "
        f"{'Redis' if settings.redis_url else 'embedded Redis'}"
    )
    print(
        f"{'handler':<22} {'p50 ms':>8} {'p99 ms':>8} {'max callbacks/s':>16}"
        f"   (latency at {RATE}/s)"
    )
    for name, (p50, p99, tput) in results.items():
        print(f"{name:<22} {p50:8.1f} {p99:8.1f} {tput:16.0f}")
    floor = results["product /wechat/mp"][2] / results["floor: insert+enqueue"][2]
    echo = results["product /wechat/mp"][2] / results["bare wechatpy echo"][2]
    print(
        f"throughput ratio product / floor: {floor:.2f}  (target >= 1.0; / bare echo: {echo:.2f})"
    )


if __name__ == "__main__":
    main()
