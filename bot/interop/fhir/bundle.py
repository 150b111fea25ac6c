"""The patient's Bundle: assembled, then validated by the ``fhir.resources`` R4B models and
checked that every ``urn:uuid:`` reference names an entry; invalid → ``FhirInvalid``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.care.dictionary import Dictionary
from bot.models import Catheter, Complication, Patient, utcnow
from bot.security.crypto import PiiCipher
from bot.services import reports as report_service
from bot.services.trace_words import Names

from . import codes as k
from .catheter import catheter_entries
from .entries import Context, Entries
from .patient import patient
from .reports import report_entries

# Bundle.meta.security: what was done to the identifiers
SECURITY = {"hash": "PSEUDED", "mask": "MASKED"}


class FhirInvalid(RuntimeError):
    """The bundle does not validate (a bug, or data the mapping does not foresee)."""


@dataclass(frozen=True)
class Options:
    identifiers: str  # "hash" | "mask" (FHIR_IDENTIFIERS)
    cipher: PiiCipher
    tz: ZoneInfo
    base_url: str  # PUBLIC_BASE_URL: the uuids' namespace and the links to report photos

    def __post_init__(self) -> None:
        if self.identifiers not in k.IDENTIFIER_MODES:
            raise ValueError(f"identifiers: one of {k.IDENTIFIER_MODES}, not {self.identifiers!r}")


def patient_bundle(
    session: Session,
    d: Dictionary,
    patient_id: int,
    options: Options,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The patient's vascular-access record as a JSON-able FHIR R4 Bundle (type
    ``collection``): Patient, then per catheter (oldest first) its Device, Procedures,
    Observations and Conditions, then the reports. No access check here: the caller (the
    export service) has checked and audited. LookupError if there is no such patient."""
    p = session.get(Patient, patient_id)
    if p is None:
        raise LookupError(f"patient {patient_id}")
    x = Context(d, Names(session), options.tz, Entries(options.base_url))
    x.patient = x.entries.add(patient(p, options.identifiers, options.cipher), "Patient", p.id)
    for c, complications in _catheters(session, p.id):
        catheter_entries(x, c, complications)
    for r in reversed(report_service.for_patient(session, p.id)):  # oldest first
        report_entries(x, r, options.base_url)
    raw = {
        "resourceType": "Bundle",
        "meta": {"security": [{"system": k.SECURITY, "code": SECURITY[options.identifiers]}]},
        "type": "collection",
        "timestamp": k.moment(now or utcnow(), options.tz),
        "entry": x.entries.entries,
    }
    return validated(raw)


def validated(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` as the R4B models read and write it; FhirInvalid if they refuse it or a
    reference inside the bundle names no entry."""
    try:
        bundle = Bundle.model_validate(raw)
    except ValidationError as exc:
        raise FhirInvalid(f"FHIR bundle does not validate: {exc}") from exc
    data: dict[str, Any] = json.loads(bundle.model_dump_json())
    urls = {e["fullUrl"] for e in data.get("entry", [])}
    dangling = sorted({ref for ref in _references(data) if ref not in urls})
    if dangling:
        raise FhirInvalid(f"FHIR bundle refers to no entry: {', '.join(dangling)}")
    return data


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref.startswith("urn:uuid:"):
            yield ref
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _catheters(session: Session, patient_id: int) -> list[tuple[Catheter, list[Complication]]]:
    found = session.scalars(
        select(Catheter)
        .options(selectinload(Catheter.maintenance), selectinload(Catheter.removal))
        .where(Catheter.patient_id == patient_id)
        .order_by(Catheter.placed_at, Catheter.id)
    ).all()
    complications: dict[int, list[Complication]] = {c.id: [] for c in found}
    for q in session.scalars(
        select(Complication)
        .where(Complication.patient_id == patient_id)
        .order_by(Complication.onset_on, Complication.id)
    ):
        complications.setdefault(q.catheter_id, []).append(q)
    return [(c, complications[c.id]) for c in found]
