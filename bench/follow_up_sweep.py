"""The follow-up sweep (A7.4) over 100,000 generated catheters in place: time to write the
check-ins, move the catheters' follow-up dates on and write the check-in messages (outbox rows
the worker then sends), the process's peak memory, and a second sweep 5 minutes later, which
must write nothing.

Like the reminder-sweep bench: with a PostgreSQL DATABASE_URL it works in a scratch database
next to it (``<database>_bench_follow_up``, created, dropped after); otherwise in a temporary
SQLite file. The data: tiers A, B and C in turn (C has no follow-up), the A and B catheters'
follow-ups due today or in the last two days; every second patient follows the official
account (the others go straight to the nurse's list).
"""

from __future__ import annotations

import os
import resource
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text

from bench import scratch
from bot import migrate
from bot.db import make_engine, make_session_factory
from bot.models import Catheter, FollowUp, OutboxMessage, Patient, PatientAccount, PatientProfile
from bot.services import dictionary as dictionary_service
from bot.services import follow_ups

CATHETERS = 100_000
BATCH = 10_000
TZ_NAME = "Asia/Shanghai"
TIERS = ("A", "B", "C")


def _generate(engine, today: date) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        for start in range(0, CATHETERS, BATCH):
            ids = range(start + 1, start + BATCH + 1)
            conn.execute(insert(Patient), [{"id": i, "name": f"患者{i}"} for i in ids])
            conn.execute(
                insert(Catheter),
                [
                    {
                        "id": i,
                        "patient_id": i,
                        "device_type": "PICC",
                        "placed_at": datetime(2026, 1, 1, tzinfo=UTC),
                        "next_due_on": today + timedelta(days=(i % 61) - 20),
                        "tier": TIERS[i % 3],
                        "next_follow_up_on": (
                            None if TIERS[i % 3] == "C" else today - timedelta(days=i % 3)
                        ),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(PatientAccount),
                [{"id": i, "openid": f"o_{i}", "subscribed": True} for i in ids if i % 2 == 0],
            )
            conn.execute(
                insert(PatientProfile),
                [{"account_id": i, "patient_id": i} for i in ids if i % 2 == 0],
            )
        if conn.dialect.name == "postgresql":
            for table in ("patients", "catheters", "patient_accounts"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))


def _run(factory, now: datetime, tz: ZoneInfo) -> tuple[follow_ups.SweepResult, float]:  # type: ignore[no-untyped-def]
    with factory() as s:
        d = dictionary_service.current(s)
        t0 = time.perf_counter()
        result = follow_ups.sweep(s, d, now, tz, public_base_url="https://vam.example")
        s.commit()
        return result, time.perf_counter() - t0


def _counts(factory) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(FollowUp)) or 0,
            s.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


def main() -> None:
    url, kind = scratch.create("follow_up")
    engine = make_engine(url)
    migrate.upgrade(engine)
    tz = ZoneInfo(TZ_NAME)
    now = datetime(2026, 12, 1, 10, tzinfo=tz).astimezone(UTC)  # outside quiet hours
    factory = make_session_factory(engine)
    with factory() as s:
        dictionary_service.ensure_default(s)
        s.commit()
    t0 = time.perf_counter()
    _generate(engine, now.astimezone(tz).date())
    generated = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, first_s = _run(factory, now, tz)
    after_first = _counts(factory)
    second, second_s = _run(factory, now + timedelta(minutes=5), tz)
    after_second = _counts(factory)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    scratch.drop("follow_up")
    print(
        f"follow-up sweep, {os.cpu_count()} cores, {'PostgreSQL' if kind else 'SQLite'}, "
        f"{CATHETERS:,} catheters in place (generated in {generated:.1f} s)"
    )
    print(f"{'run':<8}{'seconds':>9}{'check-ins':>11}{'to list':>9}{'sent':>8}{'outbox':>9}")
    for name, r, secs in (("first", first, first_s), ("second", second, second_s)):
        print(
            f"{name:<8}{secs:>9.1f}{r.created:>11,}{r.to_nurse_list:>9,}"
            f"{r.sent:>8,}{len(r.outbox_ids):>9,}"
        )
    print(
        f"rows after the first run: {after_first[0]:,} follow-ups, {after_first[1]:,} outbox; "
        f"after the second: {after_second[0]:,}, {after_second[1]:,} (nothing new written)"
    )
    print(f"peak memory of the process: {peak:.0f} MB (before the sweeps {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
