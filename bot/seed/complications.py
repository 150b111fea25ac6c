"""The complications of the demo (complications.yaml), written on the catheters
``plans.assign_complications`` gave them to, with the steps taken so far."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.care import rules
from bot.models import Catheter, Complication, ComplicationStep, Staff
from bot.models.enums import ComplicationStatus, Sex

from .context import Builder, Plan
from .tables import BASIC_INFO, SEXES, ComplicationTemplate


def complications(b: Builder, plans: list[Plan]) -> dict[int, Complication]:
    """Complications keyed by the index of their catheter's plan."""
    found: dict[int, Complication] = {}
    for index, plan in enumerate(plans):
        if plan.complication is not None and plan.onset_visit is not None:
            found[index] = _complication(b, plan, plan.complication)
    b.s.add_all(found.values())
    b.s.flush()
    b.counts["complications"] = len(found)
    b.counts["complication_steps"] = sum(len(c.steps) for c in found.values())
    return found


def _age(b: Builder, plan: Plan, on: date) -> int:
    birth = b.people[plan.person].birth_date
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _basic_info(b: Builder, plan: Plan, catheter: Catheter, onset: date) -> str:
    """Who the patient is and how the catheter came in, as a case report begins."""
    person = b.people[plan.person]
    return BASIC_INFO.format(
        sex=SEXES["M" if person.sex is Sex.MALE else "F"],
        age=_age(b, plan, onset),
        indication=catheter.indication,
        placed=plan.placed_on,
        origin=catheter.outside_institution_name or b.home.name,
        side=b.d.label("sides", catheter.side),
        vein=b.d.label("veins", catheter.vein),
        device=b.d.label("device_types", plan.device),
        brand=catheter.brand,
        french_size=catheter.french_size,
        days=(onset - plan.placed_on).days,
    )


def _complication(b: Builder, plan: Plan, t: ComplicationTemplate) -> Complication:
    catheter = plan.catheter
    assert catheter is not None and plan.onset_visit is not None
    onset = plan.visits[plan.onset_visit]
    basic = _basic_info(b, plan, catheter, onset)
    reporter = b.rng.choice(b.experts)
    plan.onset_at = b.visit_time(onset)
    reported_at = plan.onset_at + timedelta(minutes=b.rng.randint(15, 45))
    complication = Complication(
        catheter_id=catheter.id,
        patient_id=catheter.patient_id,
        type=b.code("complications", t.type),
        onset_on=onset,
        grade=t.grade,
        basic_info=basic,
        brief_history=t.brief_history,
        treatment=t.treatment,
        nursing_exam=t.nursing_exam,
        status=t.status,
        outcome=None
        if t.status is not ComplicationStatus.CLOSED
        else "REMOVED"
        if t.removal
        else "RESOLVED",
        outcome_note=t.outcome,
        led_to_removal=t.removal is not None,
        institution_id=b.home.id,
        reported_by_id=reporter.id,
        reported_at=reported_at,
        created_at=reported_at,
        updated_at=reported_at,
    )
    if t.status is ComplicationStatus.CLOSED:
        resolved = reported_at + timedelta(days=t.resolve_days)
        if plan.removed_on is not None:
            resolved = max(resolved, b.at(plan.removed_on, (9, 0), (11, 0)))
        # resolved by now: never after the start of ``today``
        complication.resolved_at = max(reported_at, min(resolved, b.local(b.today, 0)))
    _steps(b, plan, t, complication, reporter, reported_at)
    return complication


def _steps(
    b: Builder,
    plan: Plan,
    t: ComplicationTemplate,
    complication: Complication,
    reporter: Staff,
    reported_at: datetime,
) -> None:
    """The template's steps that have happened by ``today``, the reporter's alternating with
    the doctor's of the department that looks after the device."""
    doctor = b.doctors.get(
        "ICU"
        if plan.device == "CVC"
        else "GENERAL_SURGERY"
        if plan.device == "PORT"
        else "ONCOLOGY"
    )
    for n, (hours, action) in enumerate(t.steps):
        at = reported_at + timedelta(hours=hours)
        if n and rules.local_date(at, b.tz) >= b.today:
            break  # later steps have not happened yet
        staff = reporter if n % 2 == 0 or doctor is None else doctor
        complication.steps.append(ComplicationStep(at=at, staff_id=staff.id, action=action))
        complication.last_step_at = at
