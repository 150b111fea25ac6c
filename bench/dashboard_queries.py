"""The dashboard's queries (A6.1, ``bot.services.stats.compute``) over 100,000 catheters and
1,000,000 maintenance records placed over four years, with proportional removals,
complications, reminders (and their outbox rows) and follow-ups: the time to compute a year, a
month, a year narrowed to one department, and a year broken down by department. Target (issue
17): under 1 s for a year.

PostgreSQL only (``DATABASE_URL=postgresql://…``): the data is written by ``INSERT … SELECT``
over ``generate_series`` in a scratch database next to it (``<database>_bench_dashboard``,
created, dropped after)."""

from __future__ import annotations

import os
import statistics
import time
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench import scratch
from bot import migrate
from bot.db import make_engine, make_session_factory
from bot.models import links
from bot.services import dictionary as dictionary_service
from bot.services import stats

CATHETERS = 100_000
MAINTENANCE_EACH = 10  # 1,000,000 maintenance records
TODAY = date(2026, 12, 3)
TZ = ZoneInfo("Asia/Shanghai")

# Placements spread evenly over 2023-01-01 … 2026-12-02 (local 10:00 or so); dwell 60–260
# days; 70 % PICC, 15 % ports, 10 % CVC, 5 % midlines; 20 departments of 2 institutions, 200
# inserters; maintenance every 7 days after placement, one in five a day or two late.
SEED = [
    """INSERT INTO institutions (id, code, name, is_home, services, active, created_at,
        updated_at, device_types)
       SELECT i, 'H' || i, '医院' || i, i = 1, '[]', true, now(), now(), '[]'
       FROM generate_series(1, 2) i""",
    """INSERT INTO departments (id, institution_id, code, name, active)
       SELECT i, 1 + i % 2, 'D' || i, '科室' || i, true FROM generate_series(1, 20) i""",
    """INSERT INTO staff (id, institution_id, staff_no, name, role, is_vascular_expert, active,
        failed_logins, created_at, updated_at)
       SELECT i, 1 + i % 2, 'N' || i, '护士' || i, 'nurse', false, true, 0, now(), now()
       FROM generate_series(1, 200) i""",
    """INSERT INTO patients (id, name, sex, reminder_channels, quiet_start, quiet_end,
        created_at, updated_at)
       SELECT i, '患者' || i, 'unknown', '["inapp"]', '21:00', '08:00', now(), now()
       FROM generate_series(1, :n) i""",
    """INSERT INTO catheters (id, patient_id, device_type, state, source, institution_id,
        department_id, inserter_id, placed_at, techniques, port_in_use, dressing_type, tier,
        next_due_explicit, qr_token_version, qr_revoked, removed_on, created_at, updated_at)
       SELECT i, i,
         CASE WHEN i % 20 < 14 THEN 'PICC' WHEN i % 20 < 17 THEN 'PORT'
              WHEN i % 20 < 19 THEN 'CVC' ELSE 'MIDLINE' END,
         CASE WHEN removed < DATE '2026-12-03' THEN 'removed' ELSE 'in_place' END,
         'here', 1 + (i % 20) % 2, 1 + i % 20, 1 + i % 200, placed, '[]', false,
         'TRANSPARENT', 'B', false, 1, false,
         CASE WHEN removed < DATE '2026-12-03' THEN removed END, now(), now()
       FROM (
         SELECT i, placed, (timezone('Asia/Shanghai', placed))::date + 60 + (i * 7919) % 200
           AS removed
         FROM (
           SELECT i, TIMESTAMPTZ '2023-01-01 02:00+00'
             + (i * interval '1 day' * 1432 / :n) + (i % 10) * interval '1 hour' AS placed
           FROM generate_series(1, :n) i
         ) p
       ) c""",
    """INSERT INTO maintenance_records (catheter_id, performed_at, site_findings, flushed, locked,
        dressing_changed, connector_changed, needle_changed, red_flags, next_due_explicit,
        next_due_on, created_at)
       SELECT c.id, m.at, '[]', true, true, true, false, false, '[]', false,
         (timezone('Asia/Shanghai', m.at))::date + 7, m.at
       FROM catheters c
       CROSS JOIN generate_series(1, :each) k
       CROSS JOIN LATERAL (
         SELECT c.placed_at + (7 * k + CASE WHEN (c.id + k) % 5 = 0 THEN 1 + k % 2 ELSE 0 END)
           * interval '1 day' AS at
       ) m""",
    """INSERT INTO removals (catheter_id, removed_on, reason, unplanned, tip_culture_sent,
        dwell_days, created_at)
       SELECT id, removed_on,
         CASE WHEN id % 50 = 0 THEN 'ACCIDENTAL' WHEN id % 50 = 1 THEN 'COMPLICATION'
              WHEN id % 50 = 2 THEN 'DEATH' ELSE 'END_OF_THERAPY' END,
         id % 50 < 2, false, removed_on - (timezone('Asia/Shanghai', placed_at))::date, now()
       FROM catheters WHERE removed_on IS NOT NULL""",
    """INSERT INTO complications (catheter_id, patient_id, type, onset_on, grade, status,
        led_to_removal, reported_at, created_at, updated_at, reopened_count)
       SELECT id, patient_id,
         (ARRAY['PHLEBITIS', 'THROMBOSIS', 'CRBSI', 'OCCLUSION_PARTIAL', 'MARSI'])[1 + id % 5],
         (timezone('Asia/Shanghai', placed_at))::date + id % 40,
         CASE WHEN id % 5 = 0 THEN 1 + id % 4 END, 'closed', false, now(), now(), now(), 0
       FROM catheters WHERE id % 17 = 0""",
    """INSERT INTO reminders (id, catheter_id, patient_id, due_on, kind, channel, status,
        attempts, created_at)
       SELECT row_number() OVER (), m.catheter_id, m.catheter_id, m.next_due_on, 'before',
         (ARRAY['inapp', 'mp', 'sms'])[1 + m.id % 3],
         CASE WHEN m.id % 9 = 0 THEN 'sent' WHEN m.id % 31 = 0 THEN 'failed' ELSE 'queued' END,
         1, m.performed_at + interval '5 days'
       FROM maintenance_records m WHERE m.id % 3 = 0""",
    """INSERT INTO outbox_messages (dedupe_key, channel, recipient, msg_type, payload, status,
        attempts, created_at)
       SELECT 'reminder:' || id, channel, 'x', 'text', '{}',
         CASE WHEN id % 9 = 0 THEN 'failed' ELSE 'sent' END, 1, created_at
       FROM reminders WHERE status = 'queued'""",
    """INSERT INTO follow_ups (catheter_id, patient_id, due_on, status, sent_at, answers, flags,
        created_at)
       SELECT c.id, c.patient_id, (timezone('Asia/Shanghai', c.placed_at))::date + 7 * k,
         CASE WHEN (c.id + k) % 4 = 0 THEN 'no_answer' ELSE 'answered' END,
         c.placed_at + 7 * k * interval '1 day', '{}', '[]', now()
       FROM catheters c CROSS JOIN generate_series(1, 2) k""",
]


def _seed(engine: Any) -> dict[str, int]:
    params = {"n": CATHETERS, "each": MAINTENANCE_EACH}
    with engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement), params)
        links.relink(conn)  # written around the ORM: each record's next maintenance
        for table in ("institutions", "departments", "staff", "patients", "catheters"):
            conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        tables = ("catheters", "maintenance_records", "removals", "complications", "reminders")
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def _time(factory: Any, filters: stats.Filters, **kw: Any) -> tuple[float, stats.Dashboard]:
    """The median of three runs (the first warms the cache), in seconds."""
    runs = []
    board = None
    with factory() as s:
        d = dictionary_service.current(s)
        for _ in range(3):
            t0 = time.perf_counter()
            board = stats.compute(s, filters, tz=TZ, today=TODAY, dictionary=d, **kw)
            runs.append(time.perf_counter() - t0)
    assert board is not None
    return statistics.median(runs), board


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        print("dashboard queries: needs a PostgreSQL DATABASE_URL (skipped)")
        return
    url, _ = scratch.create("dashboard")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as s:
            dictionary_service.ensure_default(s)
            s.commit()
        t0 = time.perf_counter()
        counts = _seed(engine)
        seeded = time.perf_counter() - t0
        year = stats.Filters(date(2025, 12, 1), date(2026, 12, 1))
        cases = [
            ("a year (Dec 2025 – Nov 2026)", year, {}),
            ("a month (Nov 2026)", stats.Filters(date(2026, 11, 1), date(2026, 12, 1)), {}),
            ("a year, one department", stats.Filters(year.start, year.end, department_id=3), {}),
            ("a year, PICC only", stats.Filters(year.start, year.end, device_type="PICC"), {}),
            ("a year by department", year, {"group_by": "department"}),
            ("a year by inserter", year, {"group_by": "inserter"}),
        ]
        results = [(name, *_time(factory, f, **kw)) for name, f, kw in cases]
    finally:
        engine.dispose()
        scratch.drop("dashboard")
    print(
        f"dashboard queries, {os.cpu_count()} cores, PostgreSQL: "
        + ", ".join(f"{n:,} {t}" for t, n in counts.items())
        + f" (seeded in {seeded:.0f} s)"
    )
    for name, seconds, board in results:
        v = {i.code: i for i in board.indicators}
        on_time = v["maintenance_on_time"].display
        print(
            f"  {name}: {seconds * 1000:.0f} ms — {v['maintenances'].value:,} maintenances, "
            f"{v['catheter_days'].value:,} catheter-days, on time {on_time}"
        )
    print("  target: under 1 s for a year")


if __name__ == "__main__":
    main()
