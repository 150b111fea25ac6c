"""Recording an inbound callback: one INSERT that a duplicate delivery turns into nothing."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam
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
    params = {
        "channel": channel,
        "sender": str(data["FromUserName"]),
        "dedupe_key": messages.dedupe_key(data),
        "msg_type": msg_type,
        "event": str(data.get("Event", "")).lower() or None,
        "payload": data,
    }
    return conn.execute(_statement(conn.dialect.name), params).scalar()


@cache
def _statement(dialect: str) -> Any:
    """One statement per dialect with bound parameters, built once: the callback path is hot,
    and a statement built with its values each time was compiled again for every callback."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, InboxMessage.__table__)
    return (
        insert(table)
        .values({name: bindparam(name, type_=table.c[name].type) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["channel", "sender", "dedupe_key"])
        .returning(table.c.id)
    )


_COLUMNS = ("channel", "sender", "dedupe_key", "msg_type", "event", "payload")
