"""An XLSX export of 500,000 maintenance records (A6.2) through the real path: the export is
asked for (its rows counted), then written by the job's code — rows streamed from the database
by a server-side cursor, labels from the dictionary, identifiers decrypted and masked, the
streaming XLSX writer (bot/services/exports/writers.py), progress committed every 5,000 rows,
the file hashed. Time and peak memory
(ru_maxrss of a process that does only the export); targets under 60 s and under 300 MB.

Like the other benches: with a PostgreSQL DATABASE_URL it works in a scratch database next to
it (``<database>_bench_xlsx_export``, created, dropped after), the records generated there by
``INSERT … SELECT generate_series``; otherwise in a temporary SQLite file. 50,000 patients with
an encrypted ID card and phone, one PICC each, ten maintenance visits a catheter over 2026.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text

from bench import scratch
from bot import migrate
from bot.db import make_engine, make_session_factory
from bot.models import Catheter, ExportLog, MaintenanceRecord, Patient
from bot.security.crypto import PiiCipher
from bot.services import dictionary as dictionary_service
from bot.services import exports
from bot.services.stats import Filters

ROWS = 500_000
PATIENTS = 50_000
BATCH = 10_000
TZ = ZoneInfo("Asia/Shanghai")
YEAR = Filters(start=date(2026, 1, 1), end=date(2027, 1, 1))
KEY = base64.urlsafe_b64encode(b"b" * 32).decode()
TARGET_SECONDS, TARGET_MB = 60, 300
MAINTENANCE_SQL = """
INSERT INTO maintenance_records (catheter_id, performed_at, site_findings, external_length_cm,
    arm_circumference_cm, flushed, locked, dressing_changed, connector_changed, needle_changed,
    patency, red_flags, next_due_on, next_due_explicit, notes, created_at)
SELECT 1 + g % :patients,
       timestamptz '2026-01-01 01:00+00' + (g % 360) * interval '1 day'
           + (g % 600) * interval '1 minute',
       CASE WHEN g % 7 = 0 THEN '["REDNESS", "SWELLING"]' ELSE '["NORMAL"]' END::jsonb,
       2.0, 28.5, true, true, g % 2 = 0, g % 3 = 0, false,
       'PATENT', '[]'::jsonb, date '2026-01-08' + g % 360, false,
       CASE WHEN g % 10 = 0 THEN '维护顺利' END, now()
FROM generate_series(0, :rows - 1) AS g
"""


def _generate(engine) -> None:  # type: ignore[no-untyped-def]
    cipher = PiiCipher(base64.urlsafe_b64decode(KEY))
    placed = datetime(2025, 12, 20, 2, tzinfo=UTC)
    with engine.begin() as conn:
        for start in range(0, PATIENTS, BATCH):
            ids = range(start + 1, start + BATCH + 1)
            conn.execute(
                insert(Patient),
                [
                    {
                        "id": i,
                        "name": f"患者{i}",
                        "hospital_patient_id": f"H{i:08d}",
                        "id_card_enc": cipher.encrypt(
                            f"110105194912{i:06d}", context="patient.id_card"
                        ),
                        "phone_enc": cipher.encrypt(f"138{i:08d}", context="patient.phone"),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Catheter),
                [
                    {"id": i, "patient_id": i, "device_type": "PICC", "placed_at": placed}
                    for i in ids
                ],
            )
        if conn.dialect.name == "postgresql":
            conn.execute(text(MAINTENANCE_SQL), {"patients": PATIENTS, "rows": ROWS})
            conn.execute(text("ANALYZE"))
            return
        for start in range(0, ROWS, BATCH):  # SQLite: no generate_series, the same rows
            conn.execute(
                insert(MaintenanceRecord),
                [
                    {
                        "catheter_id": 1 + g % PATIENTS,
                        "performed_at": placed + timedelta(days=12 + g % 360, minutes=g % 600),
                        "site_findings": ["REDNESS", "SWELLING"] if g % 7 == 0 else ["NORMAL"],
                        "flushed": True,
                        "locked": True,
                        "patency": "PATENT",
                    }
                    for g in range(start, start + BATCH)
                ],
            )


def child(url: str, media_root: str) -> None:
    """The export alone, in a process of its own (its peak memory is the export's)."""
    factory = make_session_factory(make_engine(url))
    t0 = time.perf_counter()
    with factory() as s:
        export = exports.start_export(
            s,
            None,
            "maintenance",
            YEAR,
            "xlsx",
            full_identifiers=False,
            reason=None,
            max_rows=1_000_000,
            tz=TZ,
        )
        s.commit()
    counted = time.perf_counter() - t0
    exports.run(
        factory,
        export.id,
        tz=TZ,
        cipher=PiiCipher(base64.urlsafe_b64decode(KEY)),
        media_root=Path(media_root),
    )
    with factory() as s:
        done = s.get_one(ExportLog, export.id)
        rows, path = done.row_count, Path(done.file_path or "")
    print(
        json.dumps(
            {
                "count_s": counted,
                "total_s": time.perf_counter() - t0,
                "rows": rows,
                "bytes": path.stat().st_size,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    url, kind = scratch.create("xlsx_export")
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine)() as s:
        dictionary_service.ensure_default(s)
        s.commit()
    t0 = time.perf_counter()
    _generate(engine)
    generated = time.perf_counter() - t0
    engine.dispose()
    with tempfile.TemporaryDirectory() as media:
        out = subprocess.run(
            [sys.executable, "-m", "bench.xlsx_export", "--child", url, media],
            check=True,
            capture_output=True,
            text=True,
        )
    scratch.drop("xlsx_export")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    seconds, peak = r["total_s"], r["peak_mb"]
    print(
        f"XLSX export, {os.cpu_count()} cores, {'PostgreSQL' if kind else 'SQLite'}, "
        f"{r['rows']:,} maintenance records (generated in {generated:.1f} s)"
    )
    print(
        f"counted in {r['count_s']:.1f} s, written in {seconds - r['count_s']:.1f} s: "
        f"{seconds:.1f} s in all ({r['rows'] / seconds:,.0f} rows/s), "
        f"file {r['bytes'] / 1e6:.1f} MB"
    )
    print(f"peak memory of the exporting process: {peak:.0f} MB")
    verdict = "met" if seconds < TARGET_SECONDS and peak < TARGET_MB else "NOT met"
    print(f"targets (< {TARGET_SECONDS} s, < {TARGET_MB} MB): {verdict}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main()
