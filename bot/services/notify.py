"""Messages the service itself starts (text to WeChat / WeChat Work, templated SMS) (not replies
to a turn): written to the outbox with a dedupe key, so the same notice is sent once however often
the code that writes it runs.
Enqueue the returned ids after commit (``bot.jobs.queues.enqueue_send``)."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.models import OutboxMessage, Patient
from bot.models.enums import Channel
from bot.security.crypto import PiiCipher

PHONE_CONTEXT = "outbox.phone"
# An SMS to a patient (a reminder) names the patient, not the number: the mobile on file when
# it is sent is used, and the outbox holds no copy of it.
PATIENT_PREFIX = "patient:"


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
    blob = cipher.encrypt(phone, context=PHONE_CONTEXT)
    assert blob is not None
    out = OutboxMessage(
        dedupe_key=key,
        channel=Channel.SMS,
        msg_type="sms",
        recipient="enc:" + base64.urlsafe_b64encode(blob).decode(),
        payload={"template": template, "params": [str(p) for p in params]},
    )
    session.add(out)
    session.flush()
    return out.id


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk insert of outbox rows; rows whose dedupe key exists already are left out. The ids
    of the rows inserted."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table: Table = OutboxMessage.__table__  # type: ignore[assignment]  # Core, not the ORM's bulk path: a sweep writes thousands
    stmt = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    return list(session.execute(stmt, rows).scalars())


def sms_phone(cipher: PiiCipher, recipient: str, session: Session) -> str | None:
    """The mobile of an SMS outbox row: its own encrypted copy, or the patient's on file
    (None when the patient has none any more)."""
    if recipient.startswith(PATIENT_PREFIX):
        blob = session.scalar(
            select(Patient.phone_enc).where(
                Patient.id == int(recipient.removeprefix(PATIENT_PREFIX))
            )
        )
        return cipher.decrypt(blob, context="patient.phone") if blob else None
    phone = cipher.decrypt(
        base64.urlsafe_b64decode(recipient.removeprefix("enc:")), context=PHONE_CONTEXT
    )
    assert phone is not None
    return phone
