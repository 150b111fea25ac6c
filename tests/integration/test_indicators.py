"""Removal indicators on hand-built data, the right answers counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.models import Catheter, Complication, Patient, Removal
from bot.models.enums import CatheterState, PlacementSource
from bot.services import indicators

pytestmark = pytest.mark.db

NOV = date(2026, 11, 1)
DEC = date(2026, 12, 1)


def _placed(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _patient(session, name: str) -> Patient:
    p = Patient(name=name)
    session.add(p)
    session.flush()
    return p


def _catheter(
    session, p: Patient, device: str, placed: date, removed: date | None, **extra
) -> Catheter:
    c = Catheter(
        patient_id=p.id,
        device_type=device,
        placed_at=_placed(placed),
        state=CatheterState.REMOVED if removed else CatheterState.IN_PLACE,
        removed_on=removed,
        **extra,
    )
    session.add(c)
    session.flush()
    return c


@pytest.mark.req("A6.1")
def test_removals_by_reason_unplanned_and_for_a_complication(session, settings):
    p = _patient(session, "甲")

    def catheter(device: str, placed: date, removed: date | None) -> Catheter:
        return _catheter(session, p, device, placed, removed)

    # catheter-days in November, by hand: a 10→20 (10), b 1→ in place (30), c 25 Oct→5 (4),
    # d removed in October (0), e PORT 15→ (15, left out when counting PICC only)
    a = catheter("PICC", date(2026, 11, 10), date(2026, 11, 20))
    b = catheter("PICC", date(2026, 11, 1), None)
    c = catheter("PICC", date(2026, 10, 25), date(2026, 11, 5))
    d = catheter("PICC", date(2026, 9, 1), date(2026, 10, 10))
    e = catheter("PORT", date(2026, 11, 15), date(2026, 11, 28))
    phlebitis = Complication(
        catheter_id=a.id, patient_id=p.id, type="PHLEBITIS", onset_on=date(2026, 11, 18)
    )
    session.add(phlebitis)
    session.flush()
    session.add_all(
        [
            Removal(
                catheter_id=a.id,
                removed_on=a.removed_on,
                reason="COMPLICATION",
                unplanned=True,
                complication_id=phlebitis.id,
                dwell_days=10,
            ),
            Removal(
                catheter_id=c.id,
                removed_on=c.removed_on,
                reason="ACCIDENTAL",
                unplanned=True,
                dwell_days=11,
            ),
            Removal(
                catheter_id=d.id, removed_on=d.removed_on, reason="END_OF_THERAPY", dwell_days=39
            ),
            Removal(
                catheter_id=e.id, removed_on=e.removed_on, reason="END_OF_THERAPY", dwell_days=13
            ),
        ]
    )
    session.commit()
    assert b.state is CatheterState.IN_PLACE

    picc = indicators.removals(session, NOV, DEC, tz=settings.timezone, device_type="PICC")
    assert picc.total == 2 and picc.by_reason == {"COMPLICATION": 1, "ACCIDENTAL": 1}
    assert (picc.unplanned, picc.for_complication) == (2, 1)
    assert picc.catheter_days == 10 + 30 + 4
    assert picc.unplanned_per_1000_days() == round(2 * 1000 / 44, 2)

    every = indicators.removals(session, NOV, DEC, tz=settings.timezone)
    assert every.total == 3 and every.by_reason["END_OF_THERAPY"] == 1
    assert every.catheter_days == 44 + 13


@pytest.mark.req("A6.1")
def test_a_brought_in_catheter_counts_its_days_from_its_registration(session, settings):
    p = _patient(session, "乙")
    # placed outside on 1 Oct, registered here on 20 Nov (10:00 local), in place: 20 Nov→1 Dec
    # = 11 days (not 30); placed here on 1 Nov: 30
    registered = _placed(date(2026, 11, 20))
    brought = PlacementSource.BROUGHT_IN
    _catheter(session, p, "PICC", date(2026, 10, 1), None, source=brought, created_at=registered)
    _catheter(session, p, "PICC", NOV, None)
    session.commit()
    counted = indicators.removals(session, NOV, DEC, tz=settings.timezone)
    assert counted.catheter_days == 11 + 30
