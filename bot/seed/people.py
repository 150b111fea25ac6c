"""The demo patients' identities (names, resident ID numbers, mobiles), drawn from
people.yaml; the staff's names and mobiles come from the same draws."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from bot.models.enums import Sex
from bot.security import idcard

from .tables import PEOPLE

DEFAULT_SEED = 20261125
PATIENT_COUNT = 220

T = TypeVar("T")

SURNAMES: str = PEOPLE["surnames"]
# the first surnames are the most frequent; the weights fall off gently
_SURNAME_WEIGHTS = [1 / (i + 6) for i in range(len(SURNAMES))]
GIVEN_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    (sex, era): tuple(names.split())
    for sex, eras in PEOPLE["given_names"].items()
    for era, names in eras.items()
}
_AREA_CODES: list[str] = list(PEOPLE["area_codes"])
_AREA_WEIGHTS: list[int] = list(PEOPLE["area_codes"].values())
PHONE_PREFIXES: list[str] = PEOPLE["phone_prefixes"]


@dataclass(frozen=True)
class DemoPerson:
    """One demo patient's identity, before encryption."""

    name: str
    sex: Sex
    birth_date: date
    id_card: str
    phone: str
    hospital_patient_id: str


def weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights=weights, k=1)[0]


def person_name(rng: random.Random, sex: str, birth_year: int) -> str:
    era = "old" if birth_year < 1965 else "mid" if birth_year < 1986 else "young"
    surname = weighted(rng, SURNAMES, _SURNAME_WEIGHTS)
    return surname + rng.choice(GIVEN_NAMES[(sex, era)])


def phone(rng: random.Random, taken: set[str]) -> str:
    """A mobile number not in ``taken`` (and added to it)."""
    while True:
        number = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if number not in taken:
            taken.add(number)
            return number


def id_card(rng: random.Random, birth: date, sex: str, taken: set[str]) -> str:
    """A valid resident ID number (check digit included) not in ``taken`` (and added to it)."""
    while True:
        area = weighted(rng, _AREA_CODES, _AREA_WEIGHTS)
        order = rng.randrange(100)
        sex_digit = rng.choice("13579" if sex == "M" else "02468")
        first17 = f"{area}{birth:%Y%m%d}{order:02d}{sex_digit}"
        number = first17 + idcard.check_digit(first17)
        if number not in taken:
            taken.add(number)
            return number


def demo_people(
    seed: int = DEFAULT_SEED, *, today: date, count: int = PATIENT_COUNT
) -> list[DemoPerson]:
    """The demo patients, in the order ``seed_demo`` writes them. Pure: the same arguments
    always give the same list."""
    rng = random.Random(seed)
    ids: set[str] = set()
    phones: set[str] = set()
    numbers = rng.sample(range(10000, 100000), count)
    people = []
    for i in range(count):
        sex = Sex.MALE if rng.random() < 0.52 else Sex.FEMALE
        age = int(rng.triangular(18, 90, 63))  # oncology and surgical patients skew older
        birth = date(today.year - age - 1, 1, 1) + timedelta(days=rng.randrange(365))
        people.append(
            DemoPerson(
                name=person_name(rng, sex.value, birth.year),
                sex=sex,
                birth_date=birth,
                id_card=id_card(rng, birth, sex.value, ids),
                phone=phone(rng, phones),
                hospital_patient_id=f"P{today.year}{numbers[i]:05d}",
            )
        )
    return people
