"""Scratch databases for the benchmarks: with a PostgreSQL DATABASE_URL, an empty database
next to it named after it (``<database>_bench_<what>``: two engineers' runs on one server do not
clash), created fresh and dropped after; otherwise a temporary SQLite file."""

from __future__ import annotations

import os
import tempfile

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _name(what: str) -> str:
    return f"{make_url(os.environ['DATABASE_URL']).database or 'vam'}_bench_{what}"


def _admin(statement: str) -> None:
    url = make_url(os.environ["DATABASE_URL"]).set(database="postgres")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def create(what: str) -> tuple[str, str | None]:
    """(database URL, "postgresql" or None for SQLite) of a new, empty scratch database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{tempfile.mkdtemp()}/{what}.db", None
    _admin(f'DROP DATABASE IF EXISTS "{_name(what)}"')
    _admin(f'CREATE DATABASE "{_name(what)}"')
    return make_url(url).set(database=_name(what)).render_as_string(
        hide_password=False
    ), "postgresql"


def drop(what: str) -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        _admin(f'DROP DATABASE IF EXISTS "{_name(what)}" WITH (FORCE)')
