"""How long the demo data takes to load into an empty, migrated database.

Uses DATABASE_URL (or a temporary SQLite file). The PostgreSQL database is wiped first, so
its name must contain "bench" or "test".
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date

from sqlalchemy import text

from bot import migrate
from bot.db import make_engine, make_session_factory
from bot.security.crypto import PiiCipher
from bot.seed.demo import seed_demo
from bot.services import dictionary as dictionary_service


def main() -> None:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        if not any(word in (engine.url.database or "") for word in ("bench", "test")):
            raise SystemExit(
                "refusing to wipe a database whose name has neither 'bench' nor 'test'"
            )
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        dictionary_service.ensure_default(session)
        session.commit()
        d = dictionary_service.current(session)
        started = time.perf_counter()
        counts = seed_demo(session, PiiCipher(os.urandom(32)), d, today=date(2026, 11, 25))
        session.commit()
        elapsed = time.perf_counter() - started
    print(f"seed_demo on {engine.dialect.name}: {elapsed:.2f} s for {counts}")
    engine.dispose()
