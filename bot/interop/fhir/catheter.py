"""One catheter's resources: the Device, its insertion, maintenance and removal Procedures,
the lengths measured (Observations in cm) and its complications (Conditions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.care.dictionary import DeviceType
from bot.models import Catheter, Complication, MaintenanceRecord, Removal
from bot.models.enums import CatheterState, ComplicationStatus
from bot.services import trace_words as words

from . import codes as k
from .entries import Context


def device_code(device: DeviceType | None, lumens: int | None) -> str | None:
    """The SNOMED CT type of the device: where the dictionary has a single- and a
    double-lumen code (PICC, midline), the one matching ``lumens``; none when the number of
    lumens is unknown or fits neither (the text still says what it is)."""
    if device is None or not device.snomed:
        return None
    if len(device.snomed) == 1:
        return device.snomed[0]
    return {1: device.snomed[0], 2: device.snomed[1]}.get(lumens or 0)


def catheter_entries(x: Context, c: Catheter, complications: list[Complication]) -> None:
    """Add the catheter's resources to ``x.entries``, in the order things happened."""
    device = _device(x, c)
    insertion = _insertion(x, c, device)
    _measures(x, ("placement", c.id), c.placed_at, device, insertion, c, placement=True)
    found = {q.id: _condition(x, q, device) for q in complications}
    for m in c.maintenance:
        visit = _maintenance(x, m, device, found)
        _measures(x, ("maintenance", m.id), m.performed_at, device, visit, m)
    if c.removal is not None or c.state is CatheterState.REMOVED:
        _removal(x, c, c.removal, device, found)


def _device(x: Context, c: Catheter) -> dict[str, str]:
    kind = x.d.device_types.get(c.device_type)
    code = device_code(kind, c.lumens)
    label = kind.label if kind else c.device_type
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "identifier": [{"system": k.CATHETER_IDS, "value": str(c.id)}],
        "status": "inactive" if c.state is CatheterState.REMOVED else "active",
        "type": {"coding": [{"system": k.SNOMED, "code": code}], "text": label}
        if code
        else {"text": label},
        "patient": x.patient,
    }
    if c.lot_number:
        resource["lotNumber"] = c.lot_number
    if c.brand:
        resource["manufacturer"] = c.brand
    if model := c.model or c.port_model:
        resource["modelNumber"] = model
        resource["deviceName"] = [{"name": model, "type": "model-name"}]
    return x.entries.add(resource, "Device", c.id)


def _body_site(x: Context, c: Catheter) -> list[dict[str, Any]]:
    labels = [x.d.label("sides", c.side), x.d.label("veins", c.vein)]
    if c.port_site:
        labels.append(x.d.label("port_sites", c.port_site))
    text = "".join(s for s in labels if s)
    if not text:
        return []
    site: dict[str, Any] = {"text": text}
    if c.vein:
        site["coding"] = k.dictionary_concept(x.d, "veins", c.vein)["coding"]
    return [site]


def _procedure(x: Context, code: str, label: str, **fields: Any) -> dict[str, Any]:
    resource = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": k.concept(k.PROCEDURES, code, label),
        "subject": x.patient,
    }
    resource.update({name: value for name, value in fields.items() if value})
    return resource


def _insertion(x: Context, c: Catheter, device: dict[str, str]) -> dict[str, str]:
    resource = _procedure(
        x,
        "INSERTION",
        "置管",
        performedDateTime=k.moment(c.placed_at, x.tz),
        performer=k.person(words.placement_person(x.names, c), words.placement_place(x.names, c)),
        bodySite=_body_site(x, c),
        focalDevice=[{"action": {"coding": [k.IMPLANTATION]}, "manipulated": device}],
        note=[{"text": words.placement_text(x.d, x.names, c)}],
    )
    return x.entries.add(resource, "Procedure", "insertion", c.id)


def _maintenance(
    x: Context,
    m: MaintenanceRecord,
    device: dict[str, str],
    conditions: dict[int, dict[str, str]],
) -> dict[str, str]:
    found = conditions.get(m.complication_id) if m.complication_id else None
    resource = _procedure(
        x,
        "MAINTENANCE",
        "导管维护",
        performedDateTime=k.moment(m.performed_at, x.tz),
        performer=k.person(
            x.names.person(m.staff_id, m.performed_by_name), words.maintenance_place(x.names, m)
        ),
        focalDevice=[{"manipulated": device}],
        complicationDetail=[found] if found else None,
        note=[{"text": words.maintenance_text(x.d, m)}],
    )
    return x.entries.add(resource, "Procedure", "maintenance", m.id)


def _removal(
    x: Context,
    c: Catheter,
    r: Removal | None,
    device: dict[str, str],
    conditions: dict[int, dict[str, str]],
) -> None:
    """The removal; a catheter marked removed without its removal form still gets one, with
    the date it was marked."""
    cause = conditions.get(r.complication_id) if r and r.complication_id else None
    on = r.removed_on if r else c.removed_on
    resource = _procedure(
        x,
        "REMOVAL",
        "拔管",
        performedDateTime=k.day(on) if on else None,
        performer=k.person(x.names.person(r.staff_id), words.removal_place(x.names, r))
        if r
        else None,
        reasonCode=[k.dictionary_concept(x.d, "removal_reasons", r.reason)] if r else None,
        reasonReference=[cause] if cause else None,
        outcome={"text": "导管完整" if r.catheter_intact else "导管不完整"}
        if r and r.catheter_intact is not None
        else None,
        focalDevice=[{"action": {"coding": [k.REMOVAL]}, "manipulated": device}],
        note=[{"text": words.removal_text(x.d, r)}] if r else None,
    )
    x.entries.add(resource, "Procedure", "removal", c.id)


def _measures(
    x: Context,
    key: tuple[str, int],
    at: Any,
    device: dict[str, str],
    procedure: dict[str, str],
    record: Catheter | MaintenanceRecord,
    *,
    placement: bool = False,
) -> None:
    """The lengths measured at a placement or a visit, one Observation each, in cm."""
    measured: list[tuple[tuple[str, str], Decimal | None]] = [
        (k.EXTERNAL_LENGTH, record.external_length_cm),
        (k.ARM_CIRCUMFERENCE, record.arm_circumference_cm),
    ]
    if placement and isinstance(record, Catheter):
        measured.append((k.INSERTION_LENGTH, record.insertion_length_cm))
    for (code, label), value in measured:
        if value is None:
            continue
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "category": k.category("exam"),
            "code": k.concept(k.MEASURES, code, label),
            "subject": x.patient,
            "focus": [device],
            "partOf": [procedure],
            "effectiveDateTime": k.moment(at, x.tz),
            "valueQuantity": k.centimetres(value),
        }
        x.entries.add(resource, "Observation", *key, code)


def _condition(x: Context, q: Complication, device: dict[str, str]) -> dict[str, str]:
    closed = q.status is ComplicationStatus.CLOSED
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": k.hl7(k.CONDITION_CLINICAL, "resolved" if closed else "active"),
        "verificationStatus": k.hl7(k.CONDITION_VERIFICATION, "confirmed"),
        "code": k.dictionary_concept(x.d, "complications", q.type),
        "subject": x.patient,
        "onsetDateTime": k.day(q.onset_on),
        "recordedDate": k.moment(q.reported_at, x.tz),
        # the catheter the complication is about
        "evidence": [{"detail": [device]}],
    }
    if q.grade is not None:
        resource["severity"] = k.concept(k.GRADES, str(q.grade), _grade_text(x, q))
    if closed and q.resolved_at:
        resource["abatementDateTime"] = k.moment(q.resolved_at, x.tz)
    reporter = x.names.person(q.reported_by_id)
    if reporter != "—":
        resource["asserter"] = {"display": reporter}
    notes = [
        f"{label}：{value}"
        for label, value in (
            ("基本情况", q.basic_info),
            ("简要病史", q.brief_history),
            ("治疗措施", q.treatment),
            ("护理检查", q.nursing_exam),
            ("转归", x.d.label("complication_outcomes", q.outcome) if q.outcome else None),
            ("转归说明", q.outcome_note),
        )
        if value
    ]
    if q.led_to_removal:
        notes.append("导致拔管")
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    return x.entries.add(resource, "Condition", q.id)


def _grade_text(x: Context, q: Complication) -> str:
    """The grade as the complication's scale words it (INS phlebitis scale), else "N级"."""
    entry = x.d.codes.get("complications", {}).get(q.type)
    scale = entry.attrs.get("scale") if entry else None
    for step in x.d.payload.get("scales", {}).get(scale, []) if scale else []:
        if step.get("grade") == q.grade:
            return str(step["label"])
    return f"{q.grade}级"
