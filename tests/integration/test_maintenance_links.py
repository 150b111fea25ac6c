"""``MaintenanceRecord.next_performed_at`` — when the catheter's next maintenance was done —
kept true at every flush (bot.models.links): the on-time rate (A6.1) reads it. A record
entered late for an earlier day, one deleted or moved, records at one instant, and records
written around the ORM (``relink``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from bot.models import Catheter, Institution, MaintenanceRecord, Patient
from bot.models.enums import CatheterState
from bot.models.links import relink
from bot.services import stats

pytestmark = pytest.mark.db


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, tzinfo=UTC)  # 10:00 in Shanghai, the same date


def line(session, patient_id: int, institution_id: int, device: str) -> Catheter:
    """A catheter in place since 1 September."""
    c = Catheter(
        patient_id=patient_id,
        device_type=device,
        institution_id=institution_id,
        placed_at=at(9, 1),
        state=CatheterState.IN_PLACE,
    )
    session.add(c)
    session.flush()
    return c


@pytest.fixture
def port(session) -> Catheter:
    home = Institution(code="H1", name="本院", is_home=True)
    patient = Patient(name="丁")
    session.add_all([home, patient])
    session.flush()
    return line(session, patient.id, home.id, "PORT")


def visit(session, catheter: Catheter, when: datetime, due: date) -> MaintenanceRecord:
    record = MaintenanceRecord(catheter=catheter, performed_at=when, next_due_on=due)
    session.add(record)
    session.commit()
    return record


def links(session, catheter: Catheter) -> list[tuple[datetime, datetime | None]]:
    """(performed_at, next_performed_at) of the catheter's records, as the database has them."""
    session.expire_all()
    rows = session.execute(
        select(MaintenanceRecord.performed_at, MaintenanceRecord.next_performed_at)
        .where(MaintenanceRecord.catheter_id == catheter.id)
        .order_by(MaintenanceRecord.performed_at, MaintenanceRecord.id)
    )
    return [tuple(r) for r in rows]


@pytest.mark.req("A6.1")
def test_a6_1_each_record_knows_the_next_maintenance_even_one_entered_late(session, port):
    visit(session, port, at(10, 1), date(2026, 10, 29))
    visit(session, port, at(10, 29), date(2026, 11, 26))
    assert links(session, port) == [(at(10, 1), at(10, 29)), (at(10, 29), None)]

    # a nurse enters a visit of 15 October afterwards (补录): it sits between the two
    late = visit(session, port, at(10, 15), date(2026, 11, 12))
    assert links(session, port) == [
        (at(10, 1), at(10, 15)),
        (at(10, 15), at(10, 29)),
        (at(10, 29), None),
    ]
    assert late.next_performed_at == at(10, 29)  # the object in the session is not stale

    # corrected to 30 October: now the last one
    late.performed_at = at(10, 30)
    session.commit()
    assert links(session, port) == [
        (at(10, 1), at(10, 29)),
        (at(10, 29), at(10, 30)),
        (at(10, 30), None),
    ]

    session.delete(late)
    session.commit()
    assert links(session, port) == [(at(10, 1), at(10, 29)), (at(10, 29), None)]


@pytest.mark.req("A6.1")
def test_a6_1_a_record_moved_to_another_catheter_relinks_both(session, port):
    other = line(session, port.patient_id, port.institution_id, "PICC")
    visit(session, port, at(10, 1), date(2026, 10, 29))
    wrong = visit(session, port, at(10, 15), date(2026, 11, 12))  # entered on the wrong line
    visit(session, other, at(10, 20), date(2026, 10, 27))
    assert links(session, port) == [(at(10, 1), at(10, 15)), (at(10, 15), None)]

    wrong.catheter = other  # corrected by its relationship
    session.commit()
    assert links(session, port) == [(at(10, 1), None)]
    assert links(session, other) == [(at(10, 15), at(10, 20)), (at(10, 20), None)]


@pytest.mark.req("A6.1")
def test_a6_1_records_at_one_instant_are_not_each_others_next(session, port):
    visit(session, port, at(11, 10), date(2026, 11, 12))
    visit(session, port, at(11, 10), date(2026, 11, 13))
    assert links(session, port) == [(at(11, 10), None), (at(11, 10), None)]
    visit(session, port, at(11, 20), date(2026, 12, 18))
    assert links(session, port) == [
        (at(11, 10), at(11, 20)),
        (at(11, 10), at(11, 20)),
        (at(11, 20), None),
    ]


@pytest.mark.req("A6.1")
def test_a6_1_records_written_around_the_orm_are_linked_by_relink(session, port):
    session.execute(
        insert(MaintenanceRecord),
        [
            {"catheter_id": port.id, "performed_at": at(10, 29), "next_due_on": date(2026, 11, 26)},
            {"catheter_id": port.id, "performed_at": at(10, 1), "next_due_on": date(2026, 10, 29)},
        ],
    )
    session.commit()
    assert links(session, port) == [(at(10, 1), None), (at(10, 29), None)]  # not yet
    relink(session.connection())
    session.commit()
    assert links(session, port) == [(at(10, 1), at(10, 29)), (at(10, 29), None)]


@pytest.mark.req("A6.1")
def test_a6_1_a_visit_entered_late_turns_a_missed_due_date_into_a_met_one(
    session, settings, dictionary, port
):
    visit(session, port, at(11, 2), date(2026, 11, 9))
    visit(session, port, at(11, 20), date(2026, 12, 18))

    def on_time() -> tuple[int | None, int | None]:
        board = stats.compute(
            session,
            stats.Filters(date(2026, 11, 1), date(2026, 12, 1)),
            tz=settings.timezone,
            today=date(2026, 12, 10),
            dictionary=dictionary,
        )
        (i,) = [i for i in board.indicators if i.code == "maintenance_on_time"]
        return i.numerator, i.denominator

    assert on_time() == (0, 1)  # due 9 Nov, next visit on 20 Nov: missed
    visit(session, port, at(11, 9), date(2026, 12, 7))  # the visit of 9 Nov, entered late
    # 9 Nov met by the visit of 9 Nov; the due date it set, 7 Dec, is after the period
    assert on_time() == (1, 1)
