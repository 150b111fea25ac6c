"""The Procfile processes start and work together: web answers, the scheduler enqueues its
heartbeat and a worker runs it — with the configured services or the embedded defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

from bot.config import ROOT
from bot.jobs.housekeeping import HEARTBEAT_KEY
from tests.support.processes import free_port, stop_embedded_redis

pytestmark = [pytest.mark.db, pytest.mark.redis]


def test_web_worker_and_scheduler_run_from_the_procfile(settings, engine, tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "APP_ENV": "test",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": "e2e",
        "DATA_KEY": "a" * 43,
        "WEB_CONCURRENCY": "1",
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
        redis.Redis.from_url(settings.redis_url).delete(HEARTBEAT_KEY)
    honcho = str(Path(sys.executable).parent / "honcho")
    proc = subprocess.Popen(
        [honcho, "-f", "Procfile", "start", "web", "worker", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and health is None:
            try:
                resp = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                health = resp.json()
            except requests.RequestException:
                time.sleep(0.5)
        # no Rasa in this run: the web is healthy and says the engine is unreachable
        assert health == {
            "status": "ok",
            "database": "ok",
            "redis": "ok",
            "dialogue": "unreachable",
        }

        conn = (
            redis.Redis.from_url(settings.redis_url)
            if settings.redis_url
            else redis.Redis(unix_socket_path=str(tmp_path / "instance" / "redis.sock"))
        )
        beat = None
        while time.monotonic() < deadline and beat is None:
            beat = conn.get(HEARTBEAT_KEY)
            time.sleep(0.5)
        assert beat is not None, "the scheduler's heartbeat job never ran on a worker"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        stop_embedded_redis(tmp_path / "instance")
    assert b"Traceback" not in out, out.decode(errors="replace")[-3000:]
