"""Migration 0004 on a database holding data of the version before: follow-up and maintenance
become two dates without moving anybody's maintenance date — except where a tier had shortened
it (the tier-A idle port "due" every 3 days) — and complications and removals keep their story.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from bot import migrate
from bot.care.defaults import DEFAULT_DICTIONARY

from .test_schema import empty_database  # noqa: F401  the fixture

pytestmark = pytest.mark.db

PLACED = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LAST = date(2026, 11, 20)


def _old_dictionary() -> dict:
    """The dictionary as shipped before: tier B had no follow-up cycle of its own, and no lists
    added since."""
    payload = copy.deepcopy(DEFAULT_DICTIONARY)
    for t in payload["tiers"]:
        if t["code"] == "B":
            t["follow_up_days"] = None
    for later in ("handling_steps", "complication_outcomes", "follow_up_questions", "lab_items"):
        payload.pop(later, None)
    return payload


def _insert(conn, table: str, **values) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def _catheter(conn, cid: int, device: str, tier: str, due: date, **extra) -> None:
    now = datetime.now(UTC)
    values = {
        "id": cid,
        "patient_id": 1,
        "device_type": device,
        "state": "in_place",
        "source": "here",
        "placed_at": PLACED,
        "techniques": "[]",
        "port_in_use": False,
        "dressing_type": "TRANSPARENT",
        "tier": tier,
        "next_due_explicit": False,
        "qr_token_version": 1,
        "qr_revoked": False,
        "created_at": now,
        "updated_at": now,
        "last_maintained_on": LAST,
        "next_due_on": due,
    }
    values.update(extra)
    _insert(conn, "catheters", **values)


@pytest.mark.req("A7.4", "C3.4")
def test_a7_4_migration_separates_follow_up_from_maintenance_keeping_due_dates(
    empty_database,  # noqa: F811
):
    engine = empty_database
    migrate.upgrade(engine, "0003")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        _insert(
            conn,
            "clinical_dictionaries",
            version=1,
            payload=json.dumps(_old_dictionary()),
            created_at=now,
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
            created_at=now,
            updated_at=now,
        )
        # 1: tier-A idle port, due 3 days after its last flush: the tier had shortened it
        _catheter(conn, 1, "PORT", "A", LAST + timedelta(days=3))
        # 2: tier-A PICC due 3 days after the last visit: shortened from the weekly rule too
        _catheter(conn, 2, "PICC", "A", LAST + timedelta(days=3))
        # 3: a clinician's explicit date stays, whatever the tier
        _catheter(conn, 3, "PORT", "A", LAST + timedelta(days=3), next_due_explicit=True)
        # 4: a custom cycle of 5 days was a maintenance cycle and stays one
        _catheter(conn, 4, "PICC", "B", LAST + timedelta(days=5), follow_up_cycle_days=5)
        # 5: tier B on the device rule: unchanged
        _catheter(conn, 5, "PICC", "B", LAST + timedelta(days=7))
        # 6: a dressing found loose made it due the same day: unchanged
        _catheter(conn, 6, "PICC", "A", LAST)
        _insert(
            conn,
            "complications",
            id=1,
            catheter_id=2,
            patient_id=1,
            type="PHLEBITIS",
            onset_on=LAST,
            status="resolved",
            outcome="3天后红肿消退",
            led_to_removal=False,
            reported_at=now,
            created_at=now,
            updated_at=now,
        )
        _insert(
            conn,
            "complication_steps",
            id=1,
            complication_id=1,
            at=datetime(2026, 11, 21, 1, 0, tzinfo=UTC),
            action="硫酸镁湿敷",
        )
        _catheter(conn, 7, "PICC", "B", LAST, state="removed", removed_on=LAST)
        _insert(
            conn,
            "complications",
            id=2,
            catheter_id=7,
            patient_id=1,
            type="DISLODGEMENT",
            onset_on=LAST,
            status="resolved",
            outcome=None,
            led_to_removal=True,
            reported_at=now,
            created_at=now,
            updated_at=now,
        )
        _insert(
            conn,
            "removals",
            id=1,
            catheter_id=7,
            removed_on=LAST,
            reason="ACCIDENTAL",
            tip_culture_sent=False,
            dwell_days=19,
            created_at=now,
        )

    migrate.upgrade(engine, "head")

    with engine.connect() as conn:
        due = dict(conn.execute(text("SELECT id, next_due_on FROM catheters")).all())
        due = {k: date.fromisoformat(str(v)[:10]) for k, v in due.items()}
        assert due[1] == LAST + timedelta(days=28)  # the idle port: 4 weeks again
        assert due[2] == LAST + timedelta(days=7)
        assert due[3] == LAST + timedelta(days=3)
        assert due[4] == LAST + timedelta(days=5)
        assert due[5] == LAST + timedelta(days=7)
        assert due[6] == LAST
        cycles = dict(conn.execute(text("SELECT id, maintenance_cycle_days FROM catheters")).all())
        assert cycles[4] == 5 and cycles[5] is None
        follow = dict(conn.execute(text("SELECT id, next_follow_up_on FROM catheters")).all())
        today = date.today()
        # tier A every 3 days, tier B weekly, from the last visit — not before today
        assert date.fromisoformat(str(follow[1])[:10]) == max(LAST + timedelta(days=3), today)
        assert date.fromisoformat(str(follow[5])[:10]) == max(LAST + timedelta(days=7), today)
        assert follow[7] is None  # removed
        status, outcome, note, last_step = conn.execute(
            text("SELECT status, outcome, outcome_note, last_step_at FROM complications WHERE id=1")
        ).one()
        assert (status, outcome, note) == ("closed", "RESOLVED", "3天后红肿消退")
        assert last_step is not None
        assert conn.execute(text("SELECT outcome FROM complications WHERE id=2")).scalar() == (
            "REMOVED"
        )
        unplanned, linked = conn.execute(
            text("SELECT unplanned, complication_id FROM removals WHERE id=1")
        ).one()
        assert bool(unplanned) and linked == 2
        # tier B follows up weekly in a new dictionary version; the old one is kept
        versions = conn.execute(
            text("SELECT version, payload FROM clinical_dictionaries ORDER BY version")
        ).all()
        assert [v for v, _ in versions] == [1, 2]
        payload = versions[1][1]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        assert next(t for t in payload["tiers"] if t["code"] == "B")["follow_up_days"] == 7

    migrate.downgrade(engine, "0003")  # and back, the data still readable
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM complications WHERE id=1")).scalar() == (
            "resolved"
        )
