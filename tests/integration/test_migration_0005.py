"""Migration 0005 on a database holding consultations of the version before: each lands in the
status of the new flow (requested → open → concluded → closed), experts become consultants, and a
downgrade gives the old statuses back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot import migrate

from .test_migration_0004 import _insert
from .test_schema import empty_database  # noqa: F401  the fixture

pytestmark = pytest.mark.db

ASKED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CHANGED = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.mark.req("C5.1")
def test_c5_1_migration_puts_old_consultations_in_the_new_statuses(
    empty_database,  # noqa: F811
):
    engine = empty_database
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        stamps = {"created_at": ASKED, "updated_at": CHANGED}
        _insert(
            conn,
            "institutions",
            id=1,
            code="H",
            name="本院",
            is_home=True,
            services="[]",
            active=True,
            **stamps,
        )
        for sid, no in ((1, "N1"), (2, "N2")):
            _insert(
                conn,
                "staff",
                id=sid,
                institution_id=1,
                staff_no=no,
                name=no,
                role="nurse",
                is_vascular_expert=sid == 2,
                active=True,
                failed_logins=0,
                **stamps,
            )
        _insert(
            conn,
            "patients",
            id=1,
            name="测试",
            sex="F",
            reminder_channels="[]",
            quiet_start="22:00",
            quiet_end="07:00",
            **stamps,
        )
        old = {
            1: {"status": "open"},  # recorded, no group chat yet
            2: {"status": "open", "chat_id": "vac2"},  # in a group chat
            3: {"status": "open", "chat_id": "vac3", "conclusion": "建议拔管"},  # concluded
            4: {"status": "closed", "chat_id": "vac4", "conclusion": "继续观察"},
        }
        for cid, values in old.items():
            _insert(
                conn,
                "consultations",
                id=cid,
                patient_id=1,
                requested_by_id=1,
                title=f"会诊{cid}",
                **values,
                **stamps,
            )
            _insert(
                conn,
                "consultation_members",
                id=cid * 10,
                consultation_id=cid,
                staff_id=2,
                role="expert",
            )

    migrate.upgrade(engine, "head")
    with engine.connect() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                text("SELECT id, status, opened_at, closed_at, urgent FROM consultations")
            )
        }
        roles = set(conn.scalars(text("SELECT role FROM consultation_members")))
    assert {cid: r.status for cid, r in rows.items()} == {
        1: "requested",
        2: "open",
        3: "concluded",
        4: "closed",
    }
    assert rows[1].opened_at is None and rows[2].opened_at is not None
    assert _utc(rows[2].opened_at) == ASKED  # the chat existed since the request
    assert _utc(rows[4].closed_at) == CHANGED and rows[3].closed_at is None
    assert all(r.urgent is False or r.urgent == 0 for r in rows.values())
    assert roles == {"consultant"}

    migrate.downgrade(engine, "0004")
    with engine.connect() as conn:
        back = dict(conn.execute(text("SELECT id, status FROM consultations")).all())
        roles = set(conn.scalars(text("SELECT role FROM consultation_members")))
    assert back == {1: "open", 2: "open", 3: "open", 4: "closed"}
    assert roles == {"expert"}


def _utc(value: datetime | str) -> datetime:
    """A timestamp as the driver returns it (SQLite: text) in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
