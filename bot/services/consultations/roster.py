"""The consultation roster: who is on duty now (``ConsultantDuty`` rows)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.models import Staff


def on_duty(session: Session, now: datetime, tz: ZoneInfo) -> list[Staff]:
    """Active staff with an active duty row covering ``now`` (local weekday and time; empty
    weekdays = every day; "24:00" = end of day; a row whose end is before its start runs over
    midnight), by name. Empty if the roster has nobody on duty."""
    raise NotImplementedError


def fallback(session: Session) -> list[Staff]:
    """Every active vascular expert of the home hospital (when the roster names nobody)."""
    raise NotImplementedError
