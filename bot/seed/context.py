"""What the demo builder's steps share: one random stream, the dictionary in force, the
rows written so far, and the catheter plans (``Plan``) decided before anything is written.

Every step draws from the same ``rng`` in a fixed order, so the steps must run in the order
``seed_demo`` calls them and must not draw more or less than they do: one draw more anywhere
changes everything after it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import Catheter, Department, Institution, Patient, Staff
from bot.security.crypto import PiiCipher

from .people import DemoPerson, weighted
from .tables import ComplicationTemplate

T = TypeVar("T")


@dataclass
class Plan:
    """A catheter decided in full before anything is written (no UPDATEs later)."""

    person: int  # index into the people list
    device: str
    placed_on: date
    tier: str = "B"
    dressing: str = "TRANSPARENT"
    port_in_use: bool = False
    custom_cycle: int | None = None  # a custom maintenance cycle
    removed_on: date | None = None
    reason: str | None = None
    visits: list[date] = field(default_factory=list)
    catheter: Catheter | None = None
    complication: ComplicationTemplate | None = None
    onset_visit: int | None = None  # index into visits of the visit that found it
    onset_at: datetime | None = None  # when that visit took place


class Builder:
    """The state of one ``seed_demo`` run; the steps (places, plans, catheters …) fill in
    the rows below as they write them."""

    # written by places.institutions / places.staff / places.patients
    home: Institution
    home_departments: dict[str, Department]
    others: dict[str, Institution]
    other_departments: dict[str, Department]
    nurses: list[Staff]
    doctors: dict[str, Staff]
    admin: Staff
    outside: dict[str, list[Staff]]
    experts: list[Staff]
    clinic_nurses: list[Staff]
    people: list[DemoPerson]
    patient_rows: list[Patient]

    def __init__(
        self,
        session: Session,
        cipher: PiiCipher,
        d: Dictionary,
        today: date,
        seed: int,
        tz: ZoneInfo,
    ) -> None:
        self.s = session
        self.cipher = cipher
        self.d = d
        self.today = today
        self.seed = seed
        self.tz = tz
        self.rng = random.Random(f"{seed}/clinical")
        self.counts: dict[str, int] = {}
        self.staff_phones: set[str] = set()

    def at(
        self, day: date, start: tuple[int, int] = (8, 0), end: tuple[int, int] = (16, 30)
    ) -> datetime:
        """A local working-hours moment on ``day``, as an aware UTC datetime."""
        lo, hi = start[0] * 60 + start[1], end[0] * 60 + end[1]
        minute = self.rng.randrange(lo, hi + 1)
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        """``hour:minute`` on ``day`` on the hospital's clock, as an aware UTC datetime."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz).astimezone(UTC)

    def visit_time(self, day: date) -> datetime:
        # a visit on ``today`` happened this morning, before anyone looks at the due list
        return self.at(day, (8, 0), (9, 30) if day == self.today else (16, 30))

    def pick(self, weights: Mapping[T, float]) -> T:
        """One key of ``weights``, drawn by its weight."""
        return weighted(self.rng, list(weights), list(weights.values()))

    def code(self, list_name: str, wanted: str) -> str:
        """``wanted`` if the dictionary in force has it, else the list's first code."""
        if self.d.has_code(list_name, wanted):
            return wanted
        return next(iter(self.d.codes[list_name]))

    def cm(self, value: float) -> Decimal:
        return Decimal(f"{value:.1f}")

    def cycle(self, plan: Plan) -> int:
        return rules.cycle_days(
            self.d,
            plan.device,
            dressing_type=plan.dressing,
            port_in_use=plan.port_in_use,
            custom_cycle_days=plan.custom_cycle,
        )

    def next_due(self, plan: Plan, last: date) -> date:
        return rules.next_due_on(
            self.d,
            plan.device,
            last,
            dressing_type=plan.dressing,
            port_in_use=plan.port_in_use,
            custom_cycle_days=plan.custom_cycle,
        )

    def jittered_step(self, cycle: int) -> int:
        """Days to the next visit: mostly on cycle, sometimes a day early or a few late."""
        jitter = self.pick({-1: 8, 0: 66, 1: 15, 2: 7, 4: 4})
        return max(1, cycle + jitter)
