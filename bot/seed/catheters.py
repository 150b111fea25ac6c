"""The demo catheters: one row per plan, with its placement, source and follow-up."""

from __future__ import annotations

from datetime import timedelta

from bot.care import rules
from bot.models import Catheter, Staff
from bot.models.enums import CatheterState, PlacementSource

from .context import Builder, Plan
from .placement import placement_fields
from .tables import CATHETERS, INSTITUTIONS

# where a catheter brought in from a nearby hospital was placed
BROUGHT_IN_FROM = ("XIHU_PH", "XIAOSHAN_2", "LINPING_1")


def catheters(b: Builder, plans: list[Plan]) -> None:
    rows = [_catheter(b, plan) for plan in plans]
    b.s.add_all(rows)
    b.s.flush()
    b.counts["catheters"] = len(rows)


def _indication(b: Builder, device: str, dept_code: str) -> str:
    if device == "MIDLINE":
        indication: str = b.pick(CATHETERS["midline_indications"])
    else:
        indication = b.pick(CATHETERS["indications"][dept_code])
    if device == "CVC" and dept_code != "ICU":
        indication = CATHETERS["cvc_ward_indication"]
    return indication


def _catheter(b: Builder, plan: Plan) -> Catheter:
    rng = b.rng
    f = placement_fields(b, plan)
    dept_code = b.pick(CATHETERS["department_by_device"][plan.device])
    indication = _indication(b, plan.device, dept_code)
    placed_at = b.at(plan.placed_on, (8, 30), (16, 30))
    catheter = Catheter(
        patient_id=b.patient_rows[plan.person].id,
        device_type=plan.device,
        placed_at=placed_at,
        indication=indication,
        dressing_type=b.code("dressing_types", plan.dressing),
        tier=plan.tier,
        maintenance_cycle_days=plan.custom_cycle,
        dictionary_version=b.d.version,
        registered_by_id=rng.choice(b.clinic_nurses).id,
        responsible_staff_id=rng.choice(b.experts).id,
        created_at=placed_at + timedelta(minutes=rng.randint(20, 90)),
        **f,
    )
    catheter.updated_at = catheter.created_at
    _source(b, plan, catheter, dept_code, _inserter(b, plan, catheter, dept_code))
    if plan.tier == "A":
        catheter.follow_up_notes = rng.choice(CATHETERS["tier_a_notes"])
    elif plan.custom_cycle:
        catheter.follow_up_notes = CATHETERS["custom_cycle_note"]
    if plan.visits:
        catheter.last_maintained_on = plan.visits[-1]
    if plan.removed_on is not None:
        catheter.state = CatheterState.REMOVED
        catheter.removed_on = plan.removed_on
    else:
        catheter.state = CatheterState.IN_PLACE
        last = plan.visits[-1] if plan.visits else plan.placed_on
        catheter.next_due_on = b.next_due(plan, last)
        # the next check-in counted from the last time a nurse saw the patient, not before today
        follow_up = rules.next_follow_up_on(b.d, plan.tier, last)
        catheter.next_follow_up_on = max(follow_up, b.today) if follow_up else None
    plan.catheter = catheter
    return catheter


def _inserter(b: Builder, plan: Plan, catheter: Catheter, dept_code: str) -> Staff:
    """Surgeons place chest ports, the ICU or a surgeon central lines, experts the rest."""
    if plan.device == "PORT" and catheter.port_site == "CHEST":
        return b.doctors[b.rng.choice(["GENERAL_SURGERY", "THORACIC_SURGERY"])]
    if plan.device == "CVC":
        return b.doctors["ICU" if dept_code == "ICU" else "GENERAL_SURGERY"]
    return b.rng.choice(b.experts)


def _source(b: Builder, plan: Plan, catheter: Catheter, dept_code: str, inserter: Staff) -> None:
    """Placed here, or (a tenth of the PICCs and ports in place and seen since) elsewhere."""
    rng = b.rng
    brought_in = plan.removed_on is None and bool(plan.visits) and rng.random() < 0.1
    if brought_in and plan.device in ("PICC", "PORT"):
        catheter.source = PlacementSource.BROUGHT_IN
        if rng.random() < 0.5 and plan.device == "PICC":
            origin = b.others[rng.choice(BROUGHT_IN_FROM)]
            catheter.institution_id = origin.id
            catheter.department_id = b.other_departments[origin.code].id
            catheter.outside_institution_name = origin.name
        else:
            catheter.outside_institution_name = rng.choice(INSTITUTIONS["far_hospitals"])
        catheter.inserter_name = None
    else:
        catheter.source = PlacementSource.HERE
        catheter.institution_id = b.home.id
        catheter.department_id = b.home_departments[dept_code].id
        catheter.inserter_id = inserter.id
        catheter.inserter_name = inserter.name
