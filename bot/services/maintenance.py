"""Registering a maintenance visit (C3.2, C3.3): one record per visit, the next due date from
the rules (or the clinician's explicit date), red flags against the placement baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import Catheter, MaintenanceRecord, utcnow
from bot.models.enums import CatheterState

from . import audit

# What a quick registration in chat can say was done.
ITEMS = ("FLUSH_LOCK", "DRESSING", "CONNECTOR", "NEEDLE")
ITEM_LABELS = {
    "FLUSH_LOCK": "冲封管",
    "DRESSING": "更换敷料",
    "CONNECTOR": "更换输液接头",
    "NEEDLE": "更换无损伤针",
}


class Keep:
    """A keyword left out: keep the stored value."""


KEEP = Keep()


class MaintenanceRefused(Exception):
    """The maintenance cannot be registered; the message says why, in Chinese."""


@dataclass(frozen=True)
class Visit:
    items: frozenset[str]
    performed_at: datetime
    site_findings: list[str] = field(default_factory=list)
    external_length_cm: Decimal | None = None
    arm_circumference_cm: Decimal | None = None
    notes: str | None = None
    next_due_explicit: date | None = None
    blood_return: bool | None = None
    patency: str | None = None  # PATENT / PARTIAL / OCCLUDED
    catheter_intact: bool | None = None


@dataclass(frozen=True)
class Registered:
    record: MaintenanceRecord
    created: bool  # False: the same registration arrived again (double tap, retry)
    red_flags: list[rules.RedFlag]
    next_due_on: date


def register(
    session: Session,
    d: Dictionary,
    catheter_id: int,
    visit: Visit,
    *,
    tz: ZoneInfo,
    actor: audit.Actor,
    institution_id: int | None,
    idempotency_key: str,
) -> Registered:
    """Record a visit and move the catheter's next due date. Idempotent on the key."""
    existing = session.scalar(
        select(MaintenanceRecord).where(MaintenanceRecord.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return _replay(d, existing)
    catheter = session.get(Catheter, catheter_id, with_for_update=True)
    if catheter is None:
        raise MaintenanceRefused("找不到这根导管，请重新扫码或查找患者。")
    if catheter.state is not CatheterState.IN_PLACE:
        raise MaintenanceRefused("该导管已拔除，不能再登记维护。")
    unknown = visit.items - set(ITEMS)
    if unknown or not visit.items:
        raise MaintenanceRefused(
            "请至少选择一项维护内容：冲封管、更换敷料、更换接头或更换无损伤针。"
        )
    seen_on = rules.local_date(visit.performed_at, tz)
    placed_on = rules.local_date(catheter.placed_at, tz)
    if seen_on < placed_on:
        raise MaintenanceRefused(f"维护日期不能早于置管日期（{placed_on:%Y-%m-%d}）。")
    flags = rules.red_flags(
        d,
        baseline_external_cm=catheter.external_length_cm,
        external_cm=visit.external_length_cm,
        baseline_arm_cm=catheter.arm_circumference_cm,
        arm_cm=visit.arm_circumference_cm,
    )
    next_due = rules.next_due_on(
        d,
        catheter.device_type,
        seen_on,
        dressing_type=catheter.dressing_type,
        port_in_use=catheter.port_in_use,
        custom_cycle_days=catheter.maintenance_cycle_days,
        explicit=visit.next_due_explicit,
    )
    next_due = rules.due_after_findings(d, next_due, visit.site_findings, seen_on)
    record = MaintenanceRecord(
        catheter_id=catheter.id,
        idempotency_key=idempotency_key,
        performed_at=visit.performed_at,
        institution_id=institution_id,
        staff_id=actor.id,
        site_findings=list(visit.site_findings),
        external_length_cm=visit.external_length_cm,
        arm_circumference_cm=visit.arm_circumference_cm,
        flushed="FLUSH_LOCK" in visit.items,
        locked="FLUSH_LOCK" in visit.items,
        dressing_changed="DRESSING" in visit.items,
        dressing_type=catheter.dressing_type if "DRESSING" in visit.items else None,
        connector_changed="CONNECTOR" in visit.items,
        needle_changed="NEEDLE" in visit.items,
        blood_return=visit.blood_return,
        patency=visit.patency,
        catheter_intact=visit.catheter_intact,
        red_flags=[f.code for f in flags],
        next_due_on=next_due,
        next_due_explicit=visit.next_due_explicit is not None,
        notes=visit.notes,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        # The same registration committed concurrently: answer with that one.
        winner = session.scalar(
            select(MaintenanceRecord).where(MaintenanceRecord.idempotency_key == idempotency_key)
        )
        if winner is None:
            raise
        return _replay(d, winner)
    if catheter.last_maintained_on is None or seen_on >= catheter.last_maintained_on:
        catheter.last_maintained_on = seen_on
        catheter.next_due_on = next_due
        catheter.next_due_explicit = visit.next_due_explicit is not None
        # a nurse saw the patient: the next check-in is a cycle from this visit
        catheter.next_follow_up_on = rules.next_follow_up_on(
            d, catheter.tier, seen_on, catheter.follow_up_cycle_days
        )
    audit.record(
        session,
        actor,
        "create",
        "maintenance_record",
        record.id,
        patient_id=catheter.patient_id,
        context="chat" if idempotency_key.startswith("chat:") else "h5",
    )
    return Registered(record, True, flags, next_due)


def _replay(d: Dictionary, record: MaintenanceRecord) -> Registered:
    catheter = record.catheter
    flags = rules.red_flags(
        d,
        baseline_external_cm=catheter.external_length_cm,
        external_cm=record.external_length_cm,
        baseline_arm_cm=catheter.arm_circumference_cm,
        arm_cm=record.arm_circumference_cm,
    )
    next_due = record.next_due_on or catheter.next_due_on
    assert next_due is not None  # every registered record has one
    return Registered(record, False, flags, next_due)


def set_follow_up(
    session: Session,
    d: Dictionary,
    catheter: Catheter,
    *,
    tier: str,
    cycle_days: int | None,
    notes: str | None,
    next_due: date | None,
    tz: ZoneInfo,
    actor: audit.Actor,
    maintenance_cycle_days: int | None | Keep = KEEP,
) -> date:
    """The clinician's follow-up plan (C3.3, A7.4): tier, a custom follow-up cycle
    (``cycle_days``), a custom maintenance cycle, notes, and optionally an explicit next
    maintenance date; otherwise the next maintenance date is recomputed from the last maintenance
    (or the placement) with the new plan. The next follow-up is counted from today. Returns the
    next maintenance date. ``maintenance_cycle_days`` left out keeps the catheter's."""
    if catheter.state is not CatheterState.IN_PLACE:
        raise MaintenanceRefused("该导管已拔除，不能再设置随访。")
    if tier not in d.tiers:
        raise MaintenanceRefused("分级不在字典中。")
    if cycle_days is not None and not 1 <= cycle_days <= 180:
        raise MaintenanceRefused("随访周期应为 1–180 天。")
    if isinstance(maintenance_cycle_days, Keep):
        maintenance_cycle_days = catheter.maintenance_cycle_days
    elif maintenance_cycle_days is not None and not 1 <= maintenance_cycle_days <= 180:
        raise MaintenanceRefused("维护周期应为 1–180 天。")
    last = catheter.last_maintained_on or rules.local_date(catheter.placed_at, tz)
    if next_due is not None and next_due < last:
        raise MaintenanceRefused(f"下次维护日期不能早于上次维护（{last:%Y-%m-%d}）。")
    catheter.tier = tier
    catheter.follow_up_cycle_days = cycle_days
    catheter.maintenance_cycle_days = maintenance_cycle_days
    catheter.follow_up_notes = notes
    catheter.next_due_on = rules.next_due_on(
        d,
        catheter.device_type,
        last,
        dressing_type=catheter.dressing_type,
        port_in_use=catheter.port_in_use,
        custom_cycle_days=maintenance_cycle_days,
        explicit=next_due,
    )
    catheter.next_due_explicit = next_due is not None
    today = rules.local_date(utcnow(), tz)
    catheter.next_follow_up_on = rules.next_follow_up_on(d, tier, today, cycle_days)
    audit.record(
        session,
        actor,
        "update",
        "catheter_follow_up",
        catheter.id,
        patient_id=catheter.patient_id,
        detail={
            "tier": tier,
            "cycle_days": cycle_days,
            "maintenance_cycle_days": maintenance_cycle_days,
            "next_due_on": catheter.next_due_on.isoformat(),
            "next_follow_up_on": (
                catheter.next_follow_up_on.isoformat() if catheter.next_follow_up_on else None
            ),
        },
    )
    return catheter.next_due_on
