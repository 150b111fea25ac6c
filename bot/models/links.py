"""``MaintenanceRecord.next_performed_at`` — when the catheter's next maintenance was done —
kept true at every flush of a session from ``bot.db.make_session_factory``: a record added,
deleted or moved in time relinks its catheter's records. The on-time rate (A6.1) reads it
instead of ordering a year of maintenance per catheter.

Data written around the ORM (bulk SQL) calls ``relink`` itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, event, func, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from .catheters import MaintenanceRecord

CHUNK = 500  # catheter ids per statement


def relink(connection: Connection, catheter_ids: Iterable[int] | None = None) -> None:
    """Set each record's ``next_performed_at`` to the first maintenance of its catheter done
    strictly after it (records done at the same instant are not each other's next), for the
    catheters named, or for all (None). Two transactions writing one catheter's maintenance at
    once must not both relink it from their own snapshots: maintenance.register holds the
    catheter's row lock, as any other writer must."""
    ids = None if catheter_ids is None else sorted(set(catheter_ids))
    m = MaintenanceRecord
    chunks = [None] if ids is None else [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for chunk in chunks:
        after = func.min(m.performed_at).over(
            partition_by=m.catheter_id, order_by=m.performed_at, groups=(1, None)
        )
        linked = select(m.id, after.label("next_at"))
        if chunk is not None:
            linked = linked.where(m.catheter_id.in_(chunk))
        found = linked.subquery("linked")
        connection.execute(
            update(m)
            .where(m.id == found.c.id)
            .where(m.next_performed_at.is_distinct_from(found.c.next_at))
            .values(next_performed_at=found.c.next_at)
        )


def _moved(record: MaintenanceRecord) -> bool:
    """Moved in time or to another catheter (by its id or by its relationship)."""
    attrs = inspect(record).attrs
    return any(
        a.history.has_changes() for a in (attrs.performed_at, attrs.catheter_id, attrs.catheter)
    )


def install(factory: sessionmaker[Session]) -> None:
    """Relink the catheters whose maintenance a flush adds, deletes or moves."""

    @event.listens_for(factory, "before_flush")
    def _note(session: Session, _context: Any, _instances: Any) -> None:
        # records, not their catheter ids: a new record's id may come from its relationship
        noted = session.info.setdefault("relink", {"records": [], "catheters": set()})
        for record in session.new:
            if isinstance(record, MaintenanceRecord):
                noted["records"].append(record)
        for record in session.deleted:
            if isinstance(record, MaintenanceRecord):
                noted["catheters"].add(record.catheter_id)
        for record in session.dirty:
            if isinstance(record, MaintenanceRecord) and _moved(record):
                noted["records"].append(record)
                # the catheter it leaves: before the flush its id is still the old one, unless
                # the id itself was changed
                noted["catheters"].add(record.catheter_id)
                noted["catheters"].update(inspect(record).attrs.catheter_id.history.deleted)

    @event.listens_for(factory, "after_flush_postexec")
    def _relink(session: Session, _context: Any) -> None:
        noted = session.info.pop("relink", None)
        if noted is None:
            return
        touched = {r.catheter_id for r in noted["records"]} | noted["catheters"]
        touched.discard(None)
        if not touched:
            return
        relink(session.connection(), touched)
        for obj in list(session.identity_map.values()):
            if isinstance(obj, MaintenanceRecord) and obj.catheter_id in touched:
                session.expire(obj, ["next_performed_at"])
