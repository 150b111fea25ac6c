"""Reading and publishing versions of the clinical dictionary (A7.1)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.care.defaults import DEFAULT_DICTIONARY
from bot.care.dictionary import Dictionary, DictionaryError, build_dictionary, validate_payload
from bot.models import ClinicalDictionary

from . import audit


class NoDictionary(LookupError):
    """The database has no dictionary yet: run ``flask init-db``."""


def current(session: Session) -> Dictionary:
    """The dictionary in force (the highest version)."""
    version = session.scalar(select(func.max(ClinicalDictionary.version)))
    if version is None:
        raise NoDictionary("no clinical dictionary in the database; run `flask init-db`")
    return by_version(session, version)


def by_version(session: Session, version: int) -> Dictionary:
    row = session.scalar(select(ClinicalDictionary).where(ClinicalDictionary.version == version))
    if row is None:
        raise NoDictionary(f"dictionary version {version} does not exist")
    return build_dictionary(row.payload, version)


def ensure_default(session: Session) -> bool:
    """Write the shipped defaults as version 1 if the table is empty. True if written."""
    if session.scalar(select(func.count()).select_from(ClinicalDictionary)):
        return False
    session.add(
        ClinicalDictionary(version=1, payload=copy.deepcopy(DEFAULT_DICTIONARY), note="出厂默认值")
    )
    return True


def publish(
    session: Session, payload: Mapping[str, Any], actor: audit.Actor, note: str
) -> ClinicalDictionary:
    """Put a new version in force. Raises DictionaryError (with every reason) if the
    payload would break a rule; nothing is written then."""
    problems = validate_payload(payload)
    if problems:
        raise DictionaryError(problems)
    latest = session.scalar(select(func.max(ClinicalDictionary.version))) or 0
    row = ClinicalDictionary(
        version=latest + 1, payload=dict(payload), note=note, created_by_id=actor.id
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "clinical_dictionary",
        row.version,
        context="publish",
        detail={"note": note},
    )
    return row
