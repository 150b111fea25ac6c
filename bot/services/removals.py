"""Catheter removal (拔管): the end of a line's life, registered once.

``register`` checks the date and reason, writes the Removal (dwell days, the unplanned mark for
the quality indicators), takes the catheter out of care — out of the due list, reminders and
follow-ups at once — closes a linked complication as "led to removal", tells the patient's
followers what to watch after removal, and audits it, all in the caller's unit of work. Two
removals of one catheter at once: one wins, the other is refused with the first one's date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    ComplicationStep,
    FollowUp,
    MaintenanceRecord,
    OutboxMessage,
    PatientAccount,
    PatientProfile,
    Reminder,
    Removal,
    utcnow,
)
from bot.models.enums import (
    CatheterState,
    Channel,
    ComplicationStatus,
    DeliveryStatus,
    FollowUpStatus,
)

from . import audit, complications, notify
from .follow_ups import KEY_PREFIX as FOLLOW_UP_KEY_PREFIX
from .reminders.common import KEY_PREFIX as REMINDER_KEY_PREFIX

COMPLICATION = "COMPLICATION"  # the removal_reasons code that links a complication
OUTCOME_REMOVED = "REMOVED"  # complication_outcomes: led to removal
HANDLING_REMOVAL = "REMOVAL"  # handling_steps: 拔管
# A death is not followed by after-care advice to the family.
SILENT_REASONS = frozenset({"DEATH"})
TIP_RESULT_MAX = 120  # removals.tip_culture_result
WITHDRAWN = "导管已拔除，消息取消"
AFTER_CARE = (
    "拔管后请注意：穿刺点24小时内保持干燥、不要沾水，敷料24小时后再揭除；"
    "观察穿刺点有无出血、红肿、渗液，有无发热、手臂肿痛；如有异常请及时就医。"
    "导管维护提醒和随访已停止。"
)


class RemovalRefused(Exception):
    """The removal cannot be registered; the message says why, in Chinese."""


class NeedsConfirmation(RemovalRefused):
    """The removal date is before the last maintenance: register only when confirmed."""


@dataclass
class Removed:
    removal: Removal
    outbox_ids: list[int] = field(default_factory=list)  # enqueue after commit


def register(
    session: Session,
    d: Dictionary,
    catheter_id: int,
    *,
    removed_on: date,
    reason: str,
    tz: ZoneInfo,
    actor: audit.Actor,
    institution_id: int | None,
    complication_id: int | None = None,
    catheter_intact: bool | None = None,
    tip_culture_sent: bool = False,
    tip_culture_result: str | None = None,
    notes: str | None = None,
    confirmed: bool = False,
    context: str = "removal",
    now: datetime | None = None,
) -> Removed:
    """Register the removal of ``catheter_id`` (see the module). Raises ``RemovalRefused``
    (Chinese reason) or ``NeedsConfirmation`` (a date before the last maintenance, not
    ``confirmed``); nothing is written then. ``now`` defaults to the clock."""
    now = now or utcnow()
    catheter = session.get(Catheter, catheter_id, with_for_update=True, populate_existing=True)
    if catheter is None:
        raise RemovalRefused("找不到这根导管，请重新扫码或查找患者。")
    if catheter.state is not CatheterState.IN_PLACE:
        raise RemovalRefused(already_removed(session, d, catheter))
    placed_on = rules.local_date(catheter.placed_at, tz)
    _check_date(session, catheter, removed_on, placed_on, rules.local_date(now, tz), tz, confirmed)
    if not d.has_code("removal_reasons", reason):
        raise RemovalRefused("拔管原因不在字典中，请重新选择。")
    complication = _complication(session, catheter, reason, complication_id)
    result_text = (tip_culture_result or "").strip() or None
    if result_text is not None and len(result_text) > TIP_RESULT_MAX:
        raise RemovalRefused(f"尖端培养结果请控制在{TIP_RESULT_MAX}字以内。")
    # compare-and-set: on SQLite (no row locks) the second of two concurrent removals finds
    # the catheter removed here, after the first one's commit
    taken = session.execute(
        update(Catheter)
        .where(Catheter.id == catheter.id, Catheter.state == CatheterState.IN_PLACE)
        .values(state=CatheterState.REMOVED, removed_on=removed_on, next_follow_up_on=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(catheter)
        raise RemovalRefused(already_removed(session, d, catheter))
    session.refresh(catheter)
    removal = Removal(
        catheter_id=catheter.id,
        removed_on=removed_on,
        reason=reason,
        unplanned=bool(d.codes["removal_reasons"][reason].attrs.get("unplanned")),
        complication_id=complication.id if complication else None,
        catheter_intact=catheter_intact,
        tip_culture_sent=tip_culture_sent or result_text is not None,
        tip_culture_result=result_text,
        dwell_days=rules.catheter_days(placed_on, removed_on, removed_on),
        institution_id=institution_id,
        staff_id=actor.id,
        notes=(notes or "").strip() or None,
        created_at=now,
    )
    session.add(removal)
    session.flush()
    _stop_follow_ups_and_reminders(session, catheter.id, now)
    if complication is not None:
        _close_complication(session, d, complication, removal, actor, context)
    audit.record(
        session,
        actor,
        "create",
        "removal",
        removal.id,
        patient_id=catheter.patient_id,
        context=context,
        detail={
            "catheter": catheter.id,
            "removed_on": removed_on.isoformat(),
            "reason": reason,
            "unplanned": removal.unplanned,
            "complication": removal.complication_id,
            "confirmed_before_last_maintenance": confirmed,
        },
    )
    return Removed(removal, _tell_patient(session, d, catheter, removal))


def already_removed(session: Session, d: Dictionary, catheter: Catheter) -> str:
    """Why a second removal is refused: the first one's date and reason."""
    removal = session.scalar(
        select(Removal)
        .where(Removal.catheter_id == catheter.id)
        .execution_options(populate_existing=True)
    )
    if removal is None:  # removed before removals were recorded
        when = f"{catheter.removed_on:%Y-%m-%d}" if catheter.removed_on else "此前"
        return f"该导管已于{when}拔管，不能重复登记。"
    reason = d.label("removal_reasons", removal.reason)
    return f"该导管已于{removal.removed_on:%Y-%m-%d}拔管（{reason}），不能重复登记。"


def last_maintained_on(session: Session, catheter: Catheter, tz: ZoneInfo) -> date | None:
    """The date of the catheter's latest maintenance (its records, or the catheter's own
    date where older data has no record)."""
    latest = session.scalar(
        select(func.max(MaintenanceRecord.performed_at)).where(
            MaintenanceRecord.catheter_id == catheter.id
        )
    )
    dates = [d for d in (catheter.last_maintained_on,) if d is not None]
    if latest is not None:
        dates.append(rules.local_date(latest, tz))
    return max(dates, default=None)


def _check_date(
    session: Session,
    catheter: Catheter,
    removed_on: date,
    placed_on: date,
    today: date,
    tz: ZoneInfo,
    confirmed: bool,
) -> None:
    if removed_on > today:
        raise RemovalRefused("拔管日期不能晚于今天。")
    if removed_on < placed_on:
        raise RemovalRefused(f"拔管日期不能早于置管日期（{placed_on:%Y-%m-%d}）。")
    last = last_maintained_on(session, catheter, tz)
    if last is not None and removed_on < last and not confirmed:
        raise NeedsConfirmation(
            f"拔管日期早于最近一次维护（{last:%Y-%m-%d}），确认无误请再次提交。"
        )


def _complication(
    session: Session, catheter: Catheter, reason: str, complication_id: int | None
) -> Complication | None:
    """The complication the removal is linked to: the one named (it must be this catheter's),
    or for a removal for a complication, the catheter's only open one."""
    if complication_id is not None:
        chosen = session.get(Complication, complication_id)
        if chosen is None or chosen.catheter_id != catheter.id:
            raise RemovalRefused("所选并发症不属于这根导管，请重新选择。")
        return chosen
    if reason != COMPLICATION:
        return None
    still_open = session.scalars(
        select(Complication).where(
            Complication.catheter_id == catheter.id,
            Complication.status != ComplicationStatus.CLOSED,
        )
    ).all()
    if len(still_open) > 1:
        raise RemovalRefused(f"该导管有{len(still_open)}个未结案的并发症，请选择因哪个并发症拔管。")
    return still_open[0] if still_open else None  # none open: registered unlinked


def _close_complication(
    session: Session,
    d: Dictionary,
    complication: Complication,
    removal: Removal,
    actor: audit.Actor,
    context: str,
) -> None:
    """The removal is the complication's last handling step (拔管) and its outcome (导致拔管),
    through the complications service. One closed before with another outcome keeps it, with
    the removal step added and marked as having led to removal."""
    what = f"拔管（{removal.removed_on:%Y-%m-%d}，{d.label('removal_reasons', removal.reason)}）"
    if complication.status is ComplicationStatus.CLOSED:
        session.add(
            ComplicationStep(
                complication_id=complication.id,
                staff_id=actor.id,
                kind=HANDLING_REMOVAL,
                action=what,
                at=utcnow(),
            )
        )
        complication.led_to_removal = True
        return
    complications.add_step(
        session, d, complication.id, text=what, kind=HANDLING_REMOVAL, actor=actor, context=context
    )
    complications.close(
        session,
        d,
        complication.id,
        outcome=OUTCOME_REMOVED,
        note=None,
        actor=actor,
        context=context,
    )


def _stop_follow_ups_and_reminders(session: Session, catheter_id: int, now: datetime) -> None:
    """Follow-ups still waiting for an answer stop; reminders not yet sent — written, or
    already in the outbox — are withdrawn, so nothing about this line goes out any more."""
    check_ins = list(
        session.scalars(
            select(FollowUp.id).where(
                FollowUp.catheter_id == catheter_id, FollowUp.status == FollowUpStatus.SENT
            )
        )
    )
    if check_ins:
        session.execute(
            update(FollowUp)
            .where(FollowUp.id.in_(check_ins))
            .values(status=FollowUpStatus.STOPPED)
            .execution_options(synchronize_session=False)
        )
    waiting = list(
        session.scalars(
            select(Reminder.id).where(
                Reminder.catheter_id == catheter_id,
                Reminder.status.in_([DeliveryStatus.PENDING, DeliveryStatus.QUEUED]),
            )
        )
    )
    if waiting:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(waiting))
            .values(status=DeliveryStatus.SKIPPED, last_error=WITHDRAWN)
            .execution_options(synchronize_session=False)
        )
    # their messages still in the outbox: a reminder's key is reminder:{id}, a check-in's
    # (and its one reminder's) follow_up:{id}:{account}…
    keys = [OutboxMessage.dedupe_key == f"{REMINDER_KEY_PREFIX}{i}" for i in waiting] + [
        OutboxMessage.dedupe_key.startswith(f"{FOLLOW_UP_KEY_PREFIX}{i}:", autoescape=True)
        for i in check_ins
    ]
    if keys:
        session.execute(
            update(OutboxMessage)
            .where(and_(or_(*keys), OutboxMessage.status == DeliveryStatus.PENDING))
            .values(status=DeliveryStatus.SKIPPED, last_error=WITHDRAWN)
            .execution_options(synchronize_session=False)
        )


def _tell_patient(
    session: Session, d: Dictionary, catheter: Catheter, removal: Removal
) -> list[int]:
    """One message to each followed account (dedupe key per catheter and account)."""
    if removal.reason in SILENT_REASONS:
        return []
    device = d.label("device_types", catheter.device_type)
    text = (
        f"{catheter.patient.name}的{device}已于{removal.removed_on:%Y年%m月%d日}拔除"
        f"（{d.label('removal_reasons', removal.reason)}），留置{removal.dwell_days}天。"
        + AFTER_CARE
    )
    ids = []
    for (openid,) in session.execute(
        select(PatientAccount.openid)
        .join(PatientProfile, PatientProfile.account_id == PatientAccount.id)
        .where(
            PatientProfile.patient_id == catheter.patient_id,
            PatientAccount.subscribed.is_(True),
        )
    ):
        key = f"removal:{catheter.id}:{openid}"
        ids.append(notify.text(session, Channel.MP, openid, text, key=key))
    return ids


def record_tip_culture(
    session: Session, catheter_id: int, result: str, *, actor: audit.Actor, context: str = "h5"
) -> Removal:
    """The tip culture's result, which arrives days after the removal: recorded on the
    removal (marked sent), audited with the value it replaced."""
    removal = session.scalar(select(Removal).where(Removal.catheter_id == catheter_id))
    if removal is None:
        raise RemovalRefused("该导管尚未登记拔管，不能记录尖端培养结果。")
    value = result.strip()
    if not value:
        raise RemovalRefused("请填写尖端培养结果。")
    if len(value) > TIP_RESULT_MAX:
        raise RemovalRefused(f"尖端培养结果请控制在{TIP_RESULT_MAX}字以内。")
    before = removal.tip_culture_result
    removal.tip_culture_sent, removal.tip_culture_result = True, value
    audit.record(
        session,
        actor,
        "update",
        "removal",
        removal.id,
        patient_id=removal.catheter.patient_id,
        context=context,
        detail={"tip_culture_result": [before, value]},
    )
    return removal
