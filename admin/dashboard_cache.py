"""The dashboard's charts cached in Redis by their query (A6.1).

A chart's key hashes its name, its format, the normalised filters and a data stamp — the
newest id of every table the indicators count and the newest change of catheters and
complications — so a new or edited record makes a new key at once; other changes (a reminder
delivered, a follow-up answered) show within the TTL. The tables the page computed are kept
the same way, so the page's own charts do not compute the period again. Redis down: charts
are drawn without the cache (logged), never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Catheter, Complication, FollowUp, MaintenanceRecord, Reminder, Removal
from bot.services.stats import Table

log = logging.getLogger(__name__)
TTL_SECONDS = 600
PREFIX = "dashboard:"


def data_stamp(session: Session, dictionary_version: int) -> str:
    """What changes when a record the indicators count is added or edited (one cheap query:
    maxima over primary keys and two update times)."""
    parts = [
        select(func.max(Catheter.id)).scalar_subquery(),
        select(func.max(Catheter.updated_at)).scalar_subquery(),
        select(func.max(MaintenanceRecord.id)).scalar_subquery(),
        select(func.max(Complication.id)).scalar_subquery(),
        select(func.max(Complication.updated_at)).scalar_subquery(),
        select(func.max(Removal.id)).scalar_subquery(),
        select(func.max(Reminder.id)).scalar_subquery(),
        select(func.max(FollowUp.id)).scalar_subquery(),
    ]
    row = session.execute(select(*parts)).one()
    return "|".join([str(dictionary_version), *(str(v) for v in row)])


def key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{PREFIX}{kind}:{digest}"


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def tables_to_json(tables: dict[str, Table]) -> bytes:
    return json.dumps(
        {
            code: {"title": t.title, "columns": t.columns, "rows": [list(r) for r in t.rows]}
            for code, t in tables.items()
        },
        default=_cell,
        ensure_ascii=False,
    ).encode()


def tables_from_json(data: bytes) -> dict[str, Table]:
    return {
        code: Table(code, t["title"], t["columns"], t["rows"])
        for code, t in json.loads(data).items()
    }


class Cache:
    """get / set over Redis that never fails: a Redis error is a miss (logged once a call)."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn

    def get(self, k: str) -> bytes | None:
        try:
            return self.conn.get(k)  # type: ignore[return-value]
        except redis.RedisError as exc:
            log.warning("dashboard cache unavailable, drawing without it: %s", exc)
            return None

    def set(self, k: str, value: bytes) -> None:
        try:
            self.conn.set(k, value, ex=TTL_SECONDS)
        except redis.RedisError as exc:
            log.warning("dashboard cache unavailable, not kept: %s", exc)

    def get_or_make(self, k: str, make: Callable[[], bytes]) -> bytes:
        found = self.get(k)
        if found is not None:
            return found
        made = make()
        self.set(k, made)
        return made
