"""Which catheter each demo patient has had, and when it was seen: decided in full before
anything is written, so that on ``today`` the due list shows every status (overdue, due
today, due soon, ok, new) and some catheters have been removed."""

from __future__ import annotations

from datetime import date, timedelta

from bot.models.enums import ComplicationStatus

from .context import Builder, Plan
from .tables import CATHETERS, COMPLICATIONS, ComplicationTemplate

REPLACED_REASONS = (
    ["COMPLICATION"] * 2 + ["ACCIDENTAL"] * 2 + ["END_OF_THERAPY"] * 6 + ["PATIENT_REQUEST"] * 2
)
FINISHED_REASONS = ["END_OF_THERAPY"] * 4 + ["DEATH", "PATIENT_REQUEST"]
# how many catheters in place are in each due status on ``today``; the rest are "ok"
TARGETS = {"overdue": 14, "due_today": 12, "due_soon": 14, "new": 8}


def plan_catheters(b: Builder) -> list[Plan]:
    rng = b.rng
    n = len(b.people)
    order = rng.sample(range(n), n)
    replaced = order[: len(REPLACED_REASONS)]  # an earlier catheter was removed, a new one is in
    finished = order[len(REPLACED_REASONS) : len(REPLACED_REASONS) + len(FINISHED_REASONS)]
    replaced_reasons = dict(zip(replaced, REPLACED_REASONS, strict=True))
    finished_reasons = dict(zip(finished, FINISHED_REASONS, strict=True))  # the only one, removed
    targets = [target for target, count in TARGETS.items() for _ in range(count)]
    targets += ["ok"] * (n - len(finished) - len(targets))
    rng.shuffle(targets)

    plans: list[Plan] = []
    for person in range(n):
        if person in finished_reasons:
            plans.append(plan_finished(b, person, finished_reasons[person]))
            continue
        reason = replaced_reasons.get(person)
        # a patient who asked to have the PICC out was given a port
        device = "PORT" if reason == "PATIENT_REQUEST" else b.pick(CATHETERS["device_weights"])
        current = plan_current(b, person, device, targets.pop(), replaced=reason is not None)
        if reason is not None:
            plans.append(plan_replaced(b, person, reason, current.placed_on))
        plans.append(current)
    return plans


def _target(b: Builder, plan: Plan, target: str) -> str:
    """The tier, dressing and cycle of a catheter in place; ``target`` where the cycle allows."""
    rng = b.rng
    plan.tier = b.pick(CATHETERS["tier_weights"])
    if plan.device == "PORT":
        plan.port_in_use = rng.random() < 0.3
    elif target in ("overdue", "due_today", "due_soon") and rng.random() < 0.25:
        plan.dressing = "GAUZE"
    elif plan.device == "PICC" and plan.tier == "B" and rng.random() < 0.03:
        plan.custom_cycle = 5
    cycle = b.cycle(plan)
    if target == "ok" and cycle <= max(1, b.d.due_soon_days):
        return "due_soon"
    if target == "new" and cycle < 2:
        return "due_today"
    return target


def _due_offset(b: Builder, device: str, target: str, cycle: int) -> int:
    """Days from ``today`` to the due date ``target`` asks for."""
    rng, soon = b.rng, max(1, b.d.due_soon_days)
    if target == "overdue":
        choices = [-1, -1, -2, -2, -3, -4, -5, -6, -8, -12, -20]
        if device in ("CVC", "MIDLINE"):
            choices = [-1, -2, -3, -4, -5]
        return rng.choice(choices)
    if target == "due_today":
        return 0
    if target == "due_soon":
        return rng.randint(1, soon)
    return rng.randint(soon + 1, cycle)


def plan_current(b: Builder, person: int, device: str, target: str, *, replaced: bool) -> Plan:
    """A catheter in place on ``today``, placed within its device's ``placed_ago`` range
    (catheters.yaml) and showing ``target`` where its cycle fits in that range."""
    rng, today = b.rng, b.today
    plan = Plan(person=person, device=device, placed_on=today)
    target = _target(b, plan, target)
    cycle = b.cycle(plan)
    lo, hi = CATHETERS["placed_ago"][device]
    if replaced:
        hi = min(hi, 200)
    if target == "new":
        ago = rng.randint(lo, min(cycle - 1, hi))
        plan.placed_on = today - timedelta(days=ago)
        return plan  # placed within its first cycle: no maintenance yet
    # the last visit late enough for a placement within the device's range before it: a
    # short-dwell device (a midline) is less overdue, or not overdue at all, rather than in
    # place longer than such a device stays
    offset = max(_due_offset(b, device, target, cycle), cycle + 1 - hi)
    last = today + timedelta(days=offset - cycle)
    lo = max(lo, (today - last).days + 1)
    ago = int(rng.triangular(lo, hi, lo + (hi - lo) * 0.25))
    plan.placed_on = today - timedelta(days=ago)
    visits = [last]
    day = last
    while True:  # back from the last visit to the placement
        day -= timedelta(days=b.jittered_step(cycle))
        if day <= plan.placed_on:
            break
        visits.append(day)
    plan.visits = visits[::-1]
    return plan


def _forward_visits(b: Builder, plan: Plan) -> None:
    assert plan.removed_on is not None
    cycle = b.cycle(plan)
    day = plan.placed_on + timedelta(days=b.jittered_step(cycle))
    while day < plan.removed_on:
        plan.visits.append(day)
        day += timedelta(days=b.jittered_step(cycle))


def plan_replaced(b: Builder, person: int, reason: str, next_placed_on: date) -> Plan:
    """The removed catheter before the one in place now (placed ``next_placed_on``)."""
    rng = b.rng
    if reason in ("COMPLICATION", "ACCIDENTAL", "PATIENT_REQUEST"):
        device = "PICC"
    else:
        device = b.pick(CATHETERS["replaced_device_weights"])
    gap = rng.randint(7, 14) if reason == "COMPLICATION" else rng.randint(0, 5)
    removed_on = next_placed_on - timedelta(days=gap)
    room = 300 - (b.today - removed_on).days
    lo, hi = CATHETERS["removed_dwell"][device]
    dwell = rng.randint(min(lo, room), max(1, min(hi, room)))
    plan = Plan(person=person, device=device, placed_on=removed_on - timedelta(days=dwell))
    plan.removed_on, plan.reason = removed_on, reason
    _forward_visits(b, plan)
    return plan


def plan_finished(b: Builder, person: int, reason: str) -> Plan:
    """The only catheter of a patient, removed some time ago."""
    rng = b.rng
    device = "PICC" if reason == "DEATH" else b.pick(CATHETERS["finished_device_weights"])
    lo, hi = CATHETERS["removed_dwell"][device]
    ago = rng.randint(hi + 10, 300)
    dwell = rng.randint(lo, hi)
    plan = Plan(person=person, device=device, placed_on=b.today - timedelta(days=ago))
    plan.removed_on, plan.reason = plan.placed_on + timedelta(days=dwell), reason
    _forward_visits(b, plan)
    return plan


def _candidates(plans: list[Plan], template: ComplicationTemplate, used: set[int]) -> list[int]:
    """The plans a complication can go to: a catheter it removed, else one in place with a
    few visits (of the first of its device types that has any; high-risk ones first)."""
    if template.removal:
        return [
            i
            for i, p in enumerate(plans)
            if p.reason == template.removal and p.device in template.devices and i not in used
        ]
    for device in template.devices:
        candidates = [
            i
            for i, p in enumerate(plans)
            if p.removed_on is None and p.device == device and len(p.visits) >= 3 and i not in used
        ]
        if candidates:
            break
    # high-risk (tier A) patients first: a complication is why they are tier A
    return [i for i in candidates if plans[i].tier == "A"] or candidates


def assign_complications(b: Builder, plans: list[Plan]) -> None:
    """Attach each complication template to a catheter, at a visit that found it."""
    used: set[int] = set()
    for template in COMPLICATIONS:
        candidates = _candidates(plans, template, used)
        if not candidates:
            continue
        index = b.rng.choice(candidates)
        used.add(index)
        plan = plans[index]
        plan.complication = template
        plan.onset_visit = _onset_visit(b, plan, template)


def _onset_visit(b: Builder, plan: Plan, template: ComplicationTemplate) -> int:
    if template.removal:
        # found at a visit shortly before the removal it led to
        assert plan.removed_on is not None
        onset = plan.removed_on - timedelta(days=template.removal_after_days)
        plan.visits = [v for v in plan.visits if v < onset] + [onset]
        return len(plan.visits) - 1
    if template.status is ComplicationStatus.CLOSED:
        # found some time ago and settled since
        settled = [
            i
            for i in range(1, len(plan.visits) - 1)
            if (b.today - plan.visits[i]).days > template.resolve_days + 2
        ]
        return b.rng.choice(settled[len(settled) // 2 :] or [1])
    back = [1, 2] if template.status is ComplicationStatus.OPEN else [1, 2, 2, 3]
    return len(plan.visits) - b.rng.choice(back)
