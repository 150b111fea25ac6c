"""Is a restored database whole, and does it open with the key kept apart from it?

At backup time ``manifest`` counts the rows of every table (written beside the dump); after a
restore ``check`` compares the counts, the schema revision, and decrypts a sample of every
encrypted column with DATA_KEY — recomputing the blind index of each — so a restore with the
wrong key, a truncated dump or a dump of another database is found before anyone relies on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.models import Base, OutsideApplication, Patient, Staff, utcnow
from bot.security.crypto import PiiCipher

SAMPLE = 20  # rows per encrypted column decrypted by the check

# (model, encrypted column, index column, decryption context, blind-index kind)
ENCRYPTED: list[tuple[Any, str, str, str, str]] = [
    (Patient, "id_card_enc", "id_card_index", "patient.id_card", "id_card"),
    (Patient, "phone_enc", "phone_index", "patient.phone", "phone"),
    (Staff, "phone_enc", "phone_index", "staff.phone", "phone"),
    (OutsideApplication, "phone_enc", "phone_index", "outside_application.phone", "phone"),
]


def _revision(session: Session) -> str | None:
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def counts(session: Session) -> dict[str, int]:
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


def manifest(session: Session) -> dict[str, Any]:
    """What a dump holds, written at backup time beside it."""
    return {
        "created_at": utcnow().isoformat(),
        "revision": _revision(session),
        "tables": counts(session),
    }


def check(session: Session, cipher: PiiCipher, expected: dict[str, Any]) -> list[str]:
    """What is wrong with this database against the manifest of its dump (empty: all well)."""
    problems = []
    if (revision := _revision(session)) != expected.get("revision"):
        problems.append(f"数据库版本 {revision}，备份清单为 {expected.get('revision')}")
    found = counts(session)
    for table, rows in sorted((expected.get("tables") or {}).items()):
        if found.get(table) != rows:
            problems.append(f"表 {table}：{found.get(table)} 行，备份清单为 {rows} 行")
    for model, enc, index, context, kind in ENCRYPTED:
        rows = session.execute(
            select(model.id, getattr(model, enc), getattr(model, index))
            .where(getattr(model, enc).is_not(None))
            .order_by(model.id)
            .limit(SAMPLE)
        ).all()
        for row_id, blob, blind in rows:
            try:
                value = cipher.decrypt(blob, context=context)
            except Exception:  # noqa: BLE001 - a wrong key fails in the cipher's own way
                problems.append(f"{model.__tablename__}.{enc}（id {row_id}）无法用 DATA_KEY 解密")
                continue
            if blind is not None and cipher.blind_index(value, kind=kind) != blind:
                problems.append(f"{model.__tablename__}.{index}（id {row_id}）与解密值不符")
    return problems
