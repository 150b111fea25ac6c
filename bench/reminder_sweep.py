"""The reminder sweep over 100,000 generated catheters: time to select the due ones and create
their reminders and outbox rows (what the worker then sends), and the process's peak memory.
Target (issue 6): under 10 s and under 300 MB.

With a PostgreSQL DATABASE_URL it works in a scratch database next to it, named after it
(``<database>_bench_sweep``: two engineers' runs on one server do not clash; created, dropped
after); otherwise in a temporary SQLite file.
"""

from __future__ import annotations

import base64
import os
import resource
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from bench import scratch
from bot import migrate
from bot.db import make_engine, make_session_factory
from bot.jobs.queues import SEND_BATCH, enqueue_sends
from bot.models import (
    Catheter,
    InAppMessage,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
)
from bot.security.crypto import PiiCipher
from bot.services import dictionary as dictionary_service
from bot.services import reminders

CATHETERS = 100_000
BATCH = 10_000
TZ_NAME = "Asia/Shanghai"


def _generate(engine, cipher: PiiCipher, today: date) -> None:  # type: ignore[no-untyped-def]
    """100,000 patients with one PICC each, due dates spread over -20 … +40 days; every third
    patient follows the official account."""
    phone = cipher.encrypt("13800001111", context="patient.phone")
    with engine.begin() as conn:
        for start in range(0, CATHETERS, BATCH):
            ids = range(start + 1, start + BATCH + 1)
            conn.execute(
                insert(Patient),
                [
                    {
                        "id": i,
                        "name": f"患者{i}",
                        "phone_enc": phone,
                        "reminder_channels": ["inapp", "mp", "sms"],
                        "quiet_start": "21:00",
                        "quiet_end": "08:00",
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Catheter),
                [
                    {
                        "id": i,
                        "patient_id": i,
                        "device_type": "PICC",
                        "placed_at": datetime(2026, 1, 1, tzinfo=UTC),
                        "next_due_on": today + timedelta(days=(i % 61) - 20),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(PatientAccount),
                [{"id": i, "openid": f"o_{i}", "subscribed": True} for i in ids if i % 3 == 0],
            )
            conn.execute(
                insert(PatientProfile),
                [{"account_id": i, "patient_id": i} for i in ids if i % 3 == 0],
            )
        if conn.dialect.name == "postgresql":
            for table in ("patients", "catheters", "patient_accounts"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))


def _redis():  # type: ignore[no-untyped-def]
    import redis

    from bot.infra.redis import ensure_embedded

    if os.environ.get("REDIS_URL"):
        return redis.Redis.from_url(os.environ["REDIS_URL"])
    return redis.Redis(unix_socket_path=str(ensure_embedded(Path(tempfile.mkdtemp()))))


def main() -> None:
    from zoneinfo import ZoneInfo

    url, kind = scratch.create("sweep")
    engine = make_engine(url)
    migrate.upgrade(engine)
    tz = ZoneInfo(TZ_NAME)
    now = datetime(2026, 12, 1, 10, tzinfo=tz).astimezone(UTC)  # outside quiet hours
    cipher = PiiCipher(base64.urlsafe_b64decode(base64.urlsafe_b64encode(b"b" * 32)))
    factory = make_session_factory(engine)
    with factory() as s:
        dictionary_service.ensure_default(s)
        s.commit()
    t0 = time.perf_counter()
    _generate(engine, cipher, now.astimezone(tz).date())
    generated = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with factory() as s:
        d = dictionary_service.current(s)
        t0 = time.perf_counter()
        result = reminders.sweep(s, d, cipher, now, tz, public_base_url="https://vam.example")
        s.commit()
        swept = time.perf_counter() - t0
        conn = _redis()
        conn.delete("rq:queue:bulk")
        enqueue_sends(conn, result.outbox_ids)
        elapsed = time.perf_counter() - t0
        queued = conn.llen("rq:queue:bulk")
        counts = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Reminder, InAppMessage, OutboxMessage)
        }
        t0 = time.perf_counter()
        again = reminders.sweep(
            s, d, cipher, now + timedelta(minutes=5), tz, public_base_url="https://vam.example"
        )
        s.commit()
        second = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    scratch.drop("sweep")
    print(
        f"reminder sweep, {os.cpu_count()} cores, {'PostgreSQL' if kind else 'SQLite'}, "
        f"{CATHETERS:,} catheters in place (generated in {generated:.1f} s)"
    )
    print(
        f"first sweep: {elapsed:.1f} s to select and enqueue ({swept:.1f} s in the database) — "
        f"{result.created:,} reminders, {counts['inapp_messages']:,} in-app messages, "
        f"{len(result.outbox_ids):,} outbox rows, {queued:,} send jobs in Redis "
        f"(up to {SEND_BATCH} rows each; "
        f"target < 10 s)"
    )
    print(
        f"second sweep 5 minutes later: {second:.1f} s, {again.created} new reminders, "
        f"{len(again.outbox_ids)} queued"
    )
    print(
        f"peak memory of the process: {peak:.0f} MB "
        f"(before the sweep {rss_before / 1024:.0f} MB; target < 300 MB)"
    )


if __name__ == "__main__":
    main()
