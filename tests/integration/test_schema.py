"""Migrations, the unit of work, the append-only audit log and the dictionary service,
against the real database (PostgreSQL in CI, SQLite for the embedded default)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot import migrate
from bot.care.dictionary import DictionaryError
from bot.db import make_engine
from bot.models import AuditLog, Base, ClinicalDictionary, Institution, Patient, Staff
from bot.models.enums import ActorType, StaffRole
from bot.services import audit
from bot.services import dictionary as dictionary_service

pytestmark = pytest.mark.db


@pytest.fixture
def empty_database(settings, tmp_path):
    """A brand-new empty database next to the test database."""
    if settings.database_url.startswith("sqlite"):
        yield make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        return
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    name = f"{admin.url.database}_migrations"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_migrations_upgrade_an_empty_database_to_head_and_back_to_base(empty_database):
    migrate.upgrade(empty_database)
    tables = set(inspect(empty_database).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.downgrade(empty_database, "base")
    assert set(inspect(empty_database).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_database)  # and up again: downgrade left nothing behind
    assert set(Base.metadata.tables) <= set(inspect(empty_database).get_table_names())


def test_migrated_schema_matches_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY)")
        )  # Rasa tracker
        context = MigrationContext.configure(conn, opts={"include_name": migrate.include_name})
        diff = compare_metadata(context, Base.metadata)
        conn.rollback()
    assert diff == []


def test_unit_of_work_rolls_back_unless_committed(uow, session_factory):
    with uow:
        uow.session.add(Institution(code="X1", name="未提交医院"))
    with uow:
        uow.session.add(Institution(code="X2", name="已提交医院"))
        uow.commit()
    with session_factory() as s:
        assert s.scalars(select(Institution.code)).all() == ["X2"]


def test_unit_of_work_rolls_back_on_error(uow, session_factory):
    with pytest.raises(RuntimeError), uow:
        uow.session.add(Institution(code="X3", name="出错医院"))
        uow.session.flush()
        raise RuntimeError("boom")
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Institution)) == 0


@pytest.mark.req("X.1")
def test_audit_entries_commit_with_the_change_they_describe(uow, session_factory):
    actor = audit.Actor(ActorType.STAFF, id=7, ip="10.0.0.8")
    with uow:
        p = Patient(name="测试")
        uow.session.add(p)
        uow.session.flush()
        audit.record(uow.session, actor, "read", "patient", p.id, patient_id=p.id, context="scan")
        uow.commit()
    with session_factory() as s:
        entry = s.scalars(select(AuditLog)).one()
        assert (entry.actor_id, entry.action, entry.context, entry.ip) == (
            7,
            "read",
            "scan",
            "10.0.0.8",
        )
        assert entry.at.tzinfo is not None


@pytest.mark.req("X.1")
def test_audit_log_refuses_update_and_delete_through_the_orm(session):
    audit.record(session, audit.SYSTEM, "export", "report", "1")
    session.commit()
    entry = session.scalars(select(AuditLog)).one()
    entry.action = "tampered"
    with pytest.raises(audit.AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    session.delete(entry)
    with pytest.raises(audit.AuditLogIsAppendOnly):
        session.flush()


@pytest.mark.req("X.1")
def test_audit_log_refuses_update_and_delete_in_the_database_itself(session):
    audit.record(session, audit.SYSTEM, "export", "report", "1")
    session.commit()
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert session.scalar(select(AuditLog.action)) == "export"


@pytest.mark.req("A7.1", "X.1")
def test_publishing_a_valid_dictionary_creates_a_new_version_in_force(session):
    d1 = dictionary_service.current(session)
    payload = dict(d1.payload)
    payload["due_soon_days"] = 3
    home = Institution(code="HOME", name="本院", is_home=True)
    staff = Staff(institution=home, staff_no="admin", name="管理员", role=StaffRole.ADMIN)
    session.add(staff)
    session.flush()
    admin = audit.Actor(ActorType.STAFF, id=staff.id)
    row = dictionary_service.publish(session, payload, admin, "即将到期窗口改为3天")
    session.commit()
    assert row.version == d1.version + 1
    assert dictionary_service.current(session).due_soon_days == 3
    # the old version is kept unchanged for records placed under it
    assert dictionary_service.by_version(session, d1.version).due_soon_days == 2
    entry = session.scalars(select(AuditLog)).one()
    assert (entry.object_type, entry.actor_id) == ("clinical_dictionary", staff.id)
    assert row.created_by_id == staff.id


@pytest.mark.req("A7.1")
def test_publishing_a_dictionary_that_breaks_a_rule_is_refused_and_writes_nothing(session):
    payload = dict(dictionary_service.current(session).payload)
    payload["maintenance_intervals"] = [
        {**r, "days": 0} if r["device_type"] == "PICC" else r
        for r in payload["maintenance_intervals"]
    ]
    with pytest.raises(DictionaryError, match="PICC/TRANSPARENT"):
        dictionary_service.publish(session, payload, audit.SYSTEM, "错误修改")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ClinicalDictionary)) == 1


@pytest.mark.req("P1.3")
def test_id_card_blind_index_is_unique_across_patients(session, cipher):
    index = cipher.blind_index("11010519491231002X", kind="id_card")
    session.add_all(
        [Patient(name="甲", id_card_index=index), Patient(name="乙", id_card_index=index)]
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_dates_and_aware_datetimes_round_trip(session):
    p = Patient(name="丙", birth_date=date(1960, 2, 29))
    session.add(p)
    session.commit()
    session.expire_all()
    got = session.get(Patient, p.id)
    assert got.birth_date == date(1960, 2, 29)
    assert got.created_at.utcoffset().total_seconds() == 0
