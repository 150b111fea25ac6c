"""The demo data set's tables, read once from the YAML files in ``bot/seed/data/``.

The clinical text and the weights live there so that a clinician can review and correct
them without reading the builder; this module only gives them Python types (enums, tuples,
the complication templates). Changing a file changes the demo data set: its rows are drawn
from these tables in their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from bot.models.enums import AgreementKind, ComplicationStatus, PublishStatus


def load(name: str) -> Any:
    """One file of ``bot/seed/data/``, read as package data so it is found wherever the
    package is (the source tree, an image, an installed wheel)."""
    text = (resources.files("bot.seed") / "data" / name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


PEOPLE: dict[str, Any] = load("people.yaml")
INSTITUTIONS: dict[str, Any] = load("institutions.yaml")
STAFF: dict[str, Any] = load("staff.yaml")
CATHETERS: dict[str, Any] = load("catheters.yaml")
MAINTENANCE: dict[str, Any] = load("maintenance.yaml")


@dataclass(frozen=True)
class ComplicationTemplate:
    """One complication of complications.yaml (its header explains the fields)."""

    type: str
    devices: tuple[str, ...]
    status: ComplicationStatus
    brief_history: str
    nursing_exam: str
    treatment: str
    outcome: str | None
    steps: tuple[tuple[int, str], ...]  # (hours after onset, action)
    grade: int | None = None
    removal: str | None = None  # the removal reason, if this complication ended the catheter
    findings: tuple[str, ...] = ("NORMAL",)
    patency: str = "PATENT"
    blood_return: bool = True
    arm_delta: str | None = None  # cm added to the arm circumference at onset
    external_delta: str | None = None  # cm added to the external length at onset
    resolve_days: int = 7
    removal_after_days: int = 0  # days from onset to the removal it led to
    tip_culture: str | None = None

    @classmethod
    def from_yaml(cls, spec: dict[str, Any]) -> ComplicationTemplate:
        fields = {
            **spec,
            "devices": tuple(spec["devices"]),
            "status": ComplicationStatus[spec["status"]],
            "steps": tuple((hours, action) for hours, action in spec["steps"]),
        }
        if "findings" in spec:
            fields["findings"] = tuple(spec["findings"])
        return cls(**fields)


_COMPLICATIONS: dict[str, Any] = load("complications.yaml")
COMPLICATIONS = tuple(ComplicationTemplate.from_yaml(t) for t in _COMPLICATIONS["templates"])
BASIC_INFO: str = _COMPLICATIONS["basic_info"]
SEXES: dict[str, str] = _COMPLICATIONS["sexes"]

ARTICLES: tuple[dict[str, Any], ...] = tuple(
    {**a, "status": PublishStatus[a["status"]]} for a in load("articles.yaml")
)
AGREEMENTS: tuple[dict[str, Any], ...] = tuple(
    {**a, "kind": AgreementKind[a["kind"]]} for a in load("agreements.yaml")
)
