"""What the builders of the bundle share: its entries under deterministic full URLs, the
dictionary, how people and places are named, the time zone and the patient's reference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.care.dictionary import Dictionary
from bot.services.trace_words import Names

from .codes import LOCAL


class Refs:
    """The full URLs of the entries: ``urn:uuid:`` + uuid5 of the installation (its public base
    URL) and the entry's key, so the same record always gets the same URL."""

    def __init__(self, base_url: str) -> None:
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, base_url or LOCAL)

    def url(self, *key: object) -> str:
        return f"urn:uuid:{uuid.uuid5(self._namespace, '/'.join(str(k) for k in key))}"

    def ref(self, *key: object) -> dict[str, str]:
        return {"reference": self.url(*key)}


class Entries(Refs):
    """The bundle's entries as they are made, each under the full URL of its key."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.entries: list[dict[str, Any]] = []

    def add(self, resource: dict[str, Any], *key: object) -> dict[str, str]:
        """Add ``resource`` under ``key``; returns a reference to it."""
        self.entries.append({"fullUrl": self.url(*key), "resource": resource})
        return self.ref(*key)


@dataclass
class Context:
    d: Dictionary
    names: Names
    tz: ZoneInfo
    entries: Entries
    patient: dict[str, str] = field(default_factory=dict)  # the reference to the Patient
