"""Messages the service itself starts (text to WeChat / WeChat Work, templated SMS) (not replies to a turn): written to the outbox with a
dedupe key, so the same notice is sent once however often the code that writes it runs.
Enqueue the returned ids after commit (``bot.jobs.queues.enqueue_send``)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.models import OutboxMessage, utcnow
from bot.models.enums import Channel, DeliveryStatus
from bot.security.crypto import PiiCipher

PHONE_CONTEXT = "outbox.phone"


def text(session: Session, channel: Channel, recipient: str, content: str, *, key: str) -> int:
    """A text to an openid (official account) or a WeChat Work userid; the outbox row's id."""
    return payload(
        session, channel, recipient, {"msgtype": "text", "text": {"content": content}}, key=key
    )


def payload(
    session: Session, channel: Channel, recipient: str, body: dict[str, Any], *, key: str
) -> int:
    """Any message body (``_fallback`` for one that matters) to a follower or a member."""
    existing = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return existing
    out = OutboxMessage(
        dedupe_key=key,
        channel=channel,
        recipient=recipient if channel is Channel.MP else f"user:{recipient}",
        msg_type=str(body.get("msgtype", "text")),
        payload=body,
    )
    session.add(out)
    session.flush()
    return out.id


def sms(
    session: Session, cipher: PiiCipher, phone: str, template: str, params: list[str], *, key: str
) -> int:
    """A templated SMS (kinds in SMS_TEMPLATES). The mobile is kept encrypted in the outbox."""
    existing = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return existing
    out = OutboxMessage(**sms_row(cipher, phone, template, params, key=key, now=utcnow()))
    session.add(out)
    session.flush()
    return out.id


def sms_row(
    cipher: PiiCipher, phone: str, template: str, params: list[str], *, key: str, now: datetime
) -> dict[str, Any]:
    """The outbox row of a templated SMS, for bulk inserts."""
    blob = cipher.encrypt(phone, context=PHONE_CONTEXT)
    assert blob is not None
    return {"dedupe_key": key, "channel": Channel.SMS, "recipient": "enc:" + base64.urlsafe_b64encode(blob).decode(),
            "msg_type": "sms", "payload": {"template": template, "params": [str(p) for p in params]},
            "status": DeliveryStatus.PENDING, "attempts": 0, "created_at": now}  # fmt: skip


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert of outbox rows; rows whose dedupe key exists already are left out. The ids
    of the rows inserted."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]  # Core, not the ORM's bulk path: a sweep writes thousands
    stmt = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    return list(session.execute(stmt, rows).scalars())


def sms_phone(cipher: PiiCipher, recipient: str) -> str:
    """The mobile of an SMS outbox row."""
    phone = cipher.decrypt(
        base64.urlsafe_b64decode(recipient.removeprefix("enc:")), context=PHONE_CONTEXT
    )
    assert phone is not None
    return phone
