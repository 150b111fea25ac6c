"""A deterministic, realistic demo data set (``flask seed-demo``).

Everything comes from one seed: the same seed and the same ``today`` give the same people,
catheters, maintenance histories and complications (only ciphertexts differ, because every
encryption draws a fresh nonce). The data is arranged so that on ``today`` the due list shows
catheters in every status: overdue, due today, due soon, ok and removed.

The tables (names, institutions, products, clinical text) are the YAML files in
``bot/seed/data/``; the modules next to this one draw from them, one step each, in the order
below.

``seed_demo`` only adds to the session and flushes; the caller commits. It writes nothing if
the home institution (code ``HOME``) already exists.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Institution
from bot.security.crypto import PiiCipher

from . import catheters, complications, content, places, plans, visits
from .context import Builder
from .people import DEFAULT_SEED, PATIENT_COUNT, DemoPerson, demo_people
from .places import HOME_CODE

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_TZ",
    "HOME_CODE",
    "PATIENT_COUNT",
    "DemoPerson",
    "demo_people",
    "seed_demo",
]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def seed_demo(
    session: Session,
    cipher: PiiCipher,
    d: Dictionary,
    *,
    today: date,
    seed: int = DEFAULT_SEED,
    tz: ZoneInfo = DEFAULT_TZ,
) -> dict[str, int]:
    """Write the demo data set as of the local date ``today``; returns the rows added per
    kind, or ``{}`` if the home institution exists already (nothing is written then).

    Only adds and flushes: the caller commits.
    """
    if session.scalar(select(Institution.id).where(Institution.code == HOME_CODE)) is not None:
        return {}
    b = Builder(session, cipher, d, today, seed, tz)
    places.institutions(b)
    places.staff(b)
    places.patients(b)
    planned = plans.plan_catheters(b)
    plans.assign_complications(b, planned)
    catheters.catheters(b, planned)
    found = complications.complications(b, planned)
    visits.maintenance(b, planned, found)
    content.content(b)
    content.slots(b)
    session.flush()
    return b.counts
