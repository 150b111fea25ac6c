"""Which clinic services fit a patient's devices (P8.1): the maintenance service of each
catheter in place is offered first; the maintenance service of a device the patient does not
have is refused. A patient with no catheter in place here, or only devices without a
maintenance service of their own (CVC, MIDLINE), may book any service: a catheter placed
elsewhere may not be registered yet, and nothing says which clinic a CVC or midline should go
to. Placement services are never refused (a placement consultation needs no catheter)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..directory import DEVICE_LABELS, SERVICE_LABELS, patient_device_types

# the dictionary's maintenance services by device type: PICC → PICC_MAINT, PORT → PORT_MAINT
# (it has none for CVC or MIDLINE)
MAINTENANCE = {
    code.removesuffix("_MAINT"): code for code in SERVICE_LABELS if code.endswith("_MAINT")
}


def _in_order(codes: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    """``codes`` in the dictionary's order (the order of ``labels``), unknown ones last."""
    order = list(labels)
    return sorted(codes, key=lambda c: (order.index(c) if c in order else len(order), c))


@dataclass(frozen=True)
class Fit:
    """A patient's devices in place (the dictionary's order) and the maintenance services
    that fit them."""

    devices: tuple[str, ...]

    @property
    def fitting(self) -> tuple[str, ...]:
        return tuple(MAINTENANCE[d] for d in self.devices if d in MAINTENANCE)

    def refusal(self, service: str) -> str | None:
        """Why ``service`` cannot be booked for this patient, in Chinese; None when it can."""
        fitting = self.fitting
        if not fitting or service in fitting or service not in MAINTENANCE.values():
            return None
        have = "、".join(DEVICE_LABELS.get(d, d) for d in self.devices)
        label = SERVICE_LABELS.get(service, service)
        return (
            f"就诊人目前登记在用的导管是{have}，不能预约{label}；"
            "如导管信息有误，请联系置管医院或门诊更正。"
        )

    def offered(self, services: Iterable[str]) -> list[str]:
        """The fitting services first (also when none of ``services`` is theirs, so the page
        can say there is no slot for them), then the others of ``services`` that may be
        booked, in the dictionary's order."""
        fitting = self.fitting
        rest = {s for s in services if s not in fitting and self.refusal(s) is None}
        return [*fitting, *_in_order(rest, SERVICE_LABELS)]


def fit_for(session: Session, patient_id: int) -> Fit:
    """The patient's devices in place."""
    return Fit(tuple(_in_order(patient_device_types(session, patient_id), DEVICE_LABELS)))
