"""Recording an inbound callback: one INSERT that a duplicate delivery turns into nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.models import InboxMessage
from bot.models.enums import Channel

from . import messages


def record(conn: Connection, channel: Channel, data: dict[str, Any], msg_type: str) -> int | None:
    """Insert the callback; its id, or None when this very callback was recorded before.

    ``ON CONFLICT DO NOTHING`` on the unique (channel, sender, dedupe key) makes concurrent
    retries safe without an exception path: exactly one of them gets an id.
    """
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(InboxMessage)
        .values(
            channel=channel,
            sender=str(data["FromUserName"]),
            dedupe_key=messages.dedupe_key(data),
            msg_type=msg_type,
            event=str(data.get("Event", "")).lower() or None,
            payload=data,
        )
        .on_conflict_do_nothing(index_elements=["channel", "sender", "dedupe_key"])
        .returning(InboxMessage.id)
    )
    return conn.execute(stmt).scalar()
