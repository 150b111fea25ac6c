"""Shared fixtures.

The database is the one in DATABASE_URL (PostgreSQL in CI) or, when unset, a SQLite file
per test session — the embedded default. A PostgreSQL database is wiped and migrated at the
start, so its name must contain "test".
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bot import migrate
from bot.config import Settings, load_settings
from bot.db import make_engine, make_session_factory
from bot.models import Base
from bot.security.crypto import PiiCipher
from bot.services import dictionary as dictionary_service
from bot.uow import UnitOfWork

# the req marker: IDs checked at collection, outcomes merged into .pytest-req.json
pytest_plugins = ["tests.support.reqs"]

TEST_DATA_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


@pytest.fixture(scope="session")
def test_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    instance = tmp_path_factory.mktemp("instance")
    env = {
        "APP_ENV": "test",
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "DATA_KEY": TEST_DATA_KEY,
        "MEDIA_ROOT": str(instance / "media"),
        "WECHAT_MP_APPID": "wx_test_app",
        "WECHAT_MP_SECRET": "mp_secret",
        "WECHAT_MP_TOKEN": "mp_token",
        "WECHAT_MP_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "WECOM_CORP_ID": "ww_test_corp",
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": "work_secret",
        "WECOM_TOKEN": "work_token",
        "WECOM_AES_KEY": "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
        # nothing in tests may reach the real WeChat: unroutable until a simulator is given
        "WECHAT_API_BASE": "http://127.0.0.1:9/mp",
        "WECOM_API_BASE": "http://127.0.0.1:9/work",
        "RASA_URL": "http://127.0.0.1:9",
    }
    for key in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


@pytest.fixture(scope="session")
def base_settings(test_env: dict[str, str]) -> Iterator[Settings]:
    settings = load_settings(test_env)
    yield settings
    if not settings.redis_url:  # the embedded redis-server the tests started
        from tests.support.processes import stop_embedded_redis

        stop_embedded_redis(settings.instance_path)


def _reset_postgres(engine: Engine) -> None:
    name = engine.url.database or ""
    if "test" not in name:
        raise pytest.UsageError(f"refusing to wipe database {name!r}: its name must contain 'test'")
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def migrated_template(base_settings: Settings) -> str:
    """Migrate once per session: PostgreSQL in place, SQLite into a template file."""
    engine = make_engine(base_settings.database_url)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    migrate.upgrade(engine)
    engine.dispose()
    return make_url(base_settings.database_url).database or ""


@pytest.fixture
def settings(base_settings: Settings, migrated_template: str, tmp_path: Path) -> Settings:
    """Settings of one test. SQLite tests each get a fresh copy of the migrated template."""
    if not base_settings.database_url.startswith("sqlite"):
        return base_settings
    db_file = tmp_path / "test.db"
    shutil.copyfile(migrated_template, db_file)
    return replace(base_settings, database_url=f"sqlite:///{db_file}")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated, empty database (plus the default dictionary) for each test."""
    engine = make_engine(settings.database_url)
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with make_session_factory(engine)() as session:
        dictionary_service.ensure_default(session)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine):  # type: ignore[no-untyped-def]
    return make_session_factory(engine)


@pytest.fixture
def uow(session_factory) -> UnitOfWork:  # type: ignore[no-untyped-def]
    return UnitOfWork(session_factory)


@pytest.fixture
def session(session_factory):  # type: ignore[no-untyped-def]
    with session_factory() as s:
        yield s


@pytest.fixture
def cipher() -> PiiCipher:
    return PiiCipher(base64.urlsafe_b64decode(TEST_DATA_KEY))


@pytest.fixture
def redis_conn(settings):  # type: ignore[no-untyped-def]
    """The test Redis (REDIS_URL, or the embedded one), emptied for each test."""
    from bot.infra.redis import connect

    conn = connect(settings)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def dictionary(session):  # type: ignore[no-untyped-def]
    return dictionary_service.current(session)
