"""The append-only audit log (X.1): every staff read of patient data, every export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.models import AuditLog
from bot.models.enums import ActorType


class AuditLogIsAppendOnly(Exception):
    pass


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: int | None = None
    ip: str | None = None


SYSTEM = Actor(ActorType.SYSTEM)


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    patient_id: int | None = None,
    context: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit entry to the session; it commits with the caller's unit of work, so a
    rolled-back change leaves no entry and a committed one always has its entry."""
    entry = AuditLog(
        actor_type=actor.type,
        actor_id=actor.id,
        ip=actor.ip,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        patient_id=patient_id,
        context=context,
        detail=detail or {},
    )
    session.add(entry)
    return entry


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _refuse_changes(_mapper: Any, _conn: Any, target: AuditLog) -> None:
    raise AuditLogIsAppendOnly(f"audit entry {target.id} cannot be changed or deleted")
