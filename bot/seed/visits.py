"""The demo's maintenance visits (one record per planned visit, at the home clinic or a
clinic near the patient's home) and the removals (maintenance.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.care import rules
from bot.models import Complication, Institution, MaintenanceRecord, Removal, Staff
from bot.models.enums import ComplicationStatus

from .context import Builder, Plan
from .tables import MAINTENANCE, ComplicationTemplate

M = MAINTENANCE
BATCH = 2000  # records flushed at a time, to bound the session's memory


def maintenance(b: Builder, plans: list[Plan], found: dict[int, Complication]) -> None:
    rows: list[MaintenanceRecord] = []
    removals: list[Removal] = []
    # a quarter of the patients are looked after partly by a clinic near home
    near: dict[int, Institution | None] = {}
    written = 0
    for index, plan in enumerate(plans):
        rows += _visits(b, plan, _near_clinic(b, plan, near), found.get(index))
        if plan.removed_on is not None:
            removals.append(_removal(b, plan, found.get(index)))
        if len(rows) > BATCH:
            b.s.add_all(rows)
            b.s.flush()
            written += len(rows)
            rows = []
    b.s.add_all(rows)
    b.s.add_all(removals)
    b.s.flush()
    b.counts["maintenance_records"] = written + len(rows)
    b.counts["removals"] = len(removals)


def _near_clinic(b: Builder, plan: Plan, near: dict[int, Institution | None]) -> Institution | None:
    """The clinic near the patient's home that maintains this catheter too, if any (drawn once
    per patient, among the institutions with clinicians)."""
    if plan.person not in near:
        near[plan.person] = None
        if b.rng.random() < 0.25:
            near[plan.person] = b.rng.choice([b.others[c] for c in b.outside])
    local = near[plan.person]
    service = "PORT_MAINT" if plan.device == "PORT" else "PICC_MAINT"
    if local is not None and service not in local.services:
        return None
    return local


def _visits(
    b: Builder, plan: Plan, local: Institution | None, complication: Complication | None
) -> list[MaintenanceRecord]:
    rng = b.rng
    ward = [n for n in b.nurses if n.department is b.home_departments["ONCOLOGY"]]
    template = plan.complication if complication is not None else None
    rows = []
    for i, visit in enumerate(plan.visits):
        found = None
        if template is not None and complication is not None and i == plan.onset_visit:
            found = Found(template, complication)
        if local is not None and found is None and rng.random() < 0.5:
            institution, staff = local, rng.choice(b.outside[local.code])
        else:
            institution = b.home
            staff = rng.choice(b.clinic_nurses if rng.random() < 0.85 else ward)
        found_before = plan.onset_visit is not None and i > plan.onset_visit
        lasting = template if found_before else None
        last = i == len(plan.visits) - 1
        rows.append(record(b, plan, visit, institution, staff, last, found, lasting))
    return rows


def _removal(b: Builder, plan: Plan, complication: Complication | None) -> Removal:
    assert plan.catheter is not None and plan.removed_on is not None and plan.reason is not None
    culture = plan.complication.tip_culture if plan.complication else None
    # a port comes out in theatre
    staff = b.doctors["GENERAL_SURGERY"] if plan.device == "PORT" else b.rng.choice(b.experts)
    reason = b.code("removal_reasons", plan.reason)
    return Removal(
        catheter_id=plan.catheter.id,
        removed_on=plan.removed_on,
        reason=reason,
        unplanned=bool(b.d.codes["removal_reasons"][reason].attrs.get("unplanned")),
        complication_id=complication.id if complication and complication.led_to_removal else None,
        catheter_intact=True,
        tip_culture_sent=culture is not None,
        tip_culture_result=culture,
        dwell_days=rules.catheter_days(plan.placed_on, plan.removed_on, b.today),
        institution_id=b.home.id,
        staff_id=staff.id,
        notes=M["removal_notes"].get(plan.reason),
        created_at=b.at(plan.removed_on, (9, 0), (16, 30)),
    )


@dataclass(frozen=True)
class Found:
    """The complication found at a visit."""

    template: ComplicationTemplate
    complication: Complication


def record(
    b: Builder,
    plan: Plan,
    visit: date,
    institution: Institution,
    staff: Staff,
    last: bool,
    found: Found | None,
    lasting: ComplicationTemplate | None,
) -> MaintenanceRecord:
    """One visit; ``found`` is the complication found at it, ``lasting`` one found earlier
    whose signs persist (a migrated catheter stays out; a swollen arm is slow)."""
    c = plan.catheter
    assert c is not None
    if found is not None and plan.onset_at is not None:
        performed_at = plan.onset_at
    else:
        performed_at = b.visit_time(visit)
    external, arm = _measurements(b, plan, lasting)
    findings, notes = _findings(b, plan, last, lasting)
    patency, blood_return = "PATENT", b.rng.random() > 0.03
    if found is not None:
        t = found.template
        findings = list(t.findings)
        patency, blood_return = t.patency, t.blood_return
        if t.arm_delta and c.arm_circumference_cm is not None:
            arm = c.arm_circumference_cm + Decimal(t.arm_delta)
        if t.external_delta and c.external_length_cm is not None:
            external = c.external_length_cm + Decimal(t.external_delta)
        notes = M["onset_note"].format(complication=b.d.label("complications", t.type))
    flags = rules.red_flags(
        b.d,
        baseline_external_cm=c.external_length_cm,
        external_cm=external,
        baseline_arm_cm=c.arm_circumference_cm,
        arm_cm=arm,
    )
    return MaintenanceRecord(
        catheter_id=c.id,
        performed_at=performed_at,
        institution_id=institution.id,
        staff_id=staff.id,
        performed_by_name=staff.name,
        site_findings=[b.code("site_findings", f) for f in findings],
        external_length_cm=external,
        arm_circumference_cm=arm,
        blood_return=blood_return,
        patency=b.code("patency", patency),
        catheter_intact=True,
        complication_id=found.complication.id if found is not None else None,
        red_flags=[f.code for f in flags],
        next_due_on=b.next_due(plan, visit),
        notes=notes,
        **_care(b, plan),
        created_at=performed_at + timedelta(minutes=b.rng.randint(5, 40)),
    )


def _measurements(
    b: Builder, plan: Plan, lasting: ComplicationTemplate | None
) -> tuple[Decimal | None, Decimal | None]:
    """External length and arm circumference: the placement's, give or take a few mm, plus
    what a complication found earlier still adds."""
    c = plan.catheter
    assert c is not None
    external = c.external_length_cm
    if external is not None:
        external = external + b.cm(b.rng.choice([-0.5, 0, 0, 0, 0, 0, 0.5]))
        external = max(external, Decimal("0.0"))
    arm = c.arm_circumference_cm
    if arm is not None:
        arm = arm + b.cm(b.rng.choice([-0.5, -0.3, 0, 0, 0, 0.2, 0.5, 0.8]))
    if lasting is not None and lasting.external_delta and external is not None:
        external += Decimal(lasting.external_delta)
    if (
        lasting is not None
        and lasting.arm_delta
        and arm is not None
        and lasting.status is not ComplicationStatus.CLOSED
    ):
        arm += Decimal(lasting.arm_delta) - Decimal("0.3")
    return external, arm


def _findings(
    b: Builder, plan: Plan, last: bool, lasting: ComplicationTemplate | None
) -> tuple[list[str], str | None]:
    """The site findings and note of a visit that found no new complication."""
    rng = b.rng
    findings = ["NORMAL"]
    notes = rng.choice(M["routine_notes"]) if rng.random() < 0.3 else None
    if not last and plan.device != "PORT" and rng.random() < 0.06:
        minor = rng.choice(M["minor_findings"])
        findings, notes = list(minor["findings"]), minor["note"]
    if lasting is not None and lasting.status is not ComplicationStatus.CLOSED:
        findings = list(lasting.findings)  # still being treated
        notes = M["lasting_note"].format(complication=b.d.label("complications", lasting.type))
    return findings, notes


def _care(b: Builder, plan: Plan) -> dict[str, Any]:
    """Flush, lock and what was changed: a port is only flushed and locked between courses;
    a gauze dressing is changed more often than its connector."""
    rng = b.rng
    if plan.device == "PORT":
        in_use = plan.port_in_use
        flush_volume, lock, lock_volume = 20, M["heparin_port"], rng.choice([3, 5])
        dressing_changed = connector_changed = needle_changed = in_use
    else:
        gauze = plan.dressing == "GAUZE"
        flush_volume = rng.choice([10, 10, 20])
        lock = M["heparin_cvc"] if plan.device == "CVC" else M["flush_saline"]
        lock_volume = rng.choice([3, 5]) if plan.device == "CVC" else rng.choice([5, 10])
        dressing_changed = True
        connector_changed = not gauze or rng.random() < 0.35
        needle_changed = False
    c = plan.catheter
    assert c is not None
    return {
        "flushed": True,
        "flush_solution": M["flush_saline"],
        "flush_volume_ml": Decimal(flush_volume),
        "locked": True,
        "lock_solution": lock,
        "lock_volume_ml": Decimal(lock_volume),
        "dressing_changed": dressing_changed,
        "dressing_type": c.dressing_type if dressing_changed else None,
        "connector_changed": connector_changed,
        "needle_changed": needle_changed,
    }
