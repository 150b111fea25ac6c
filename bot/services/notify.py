"""Messages the service itself starts (not replies to a turn): written to the outbox with a
dedupe key, so the same notice is sent once however often the code that writes it runs.
Enqueue the returned ids after commit (``bot.jobs.queues.enqueue_send``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import OutboxMessage
from bot.models.enums import Channel


def text(session: Session, channel: Channel, recipient: str, content: str, *, key: str) -> int:
    """A text to an openid (official account) or a WeChat Work userid; the outbox row's id."""
    existing = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return existing
    out = OutboxMessage(
        dedupe_key=key,
        channel=channel,
        recipient=recipient if channel is Channel.MP else f"user:{recipient}",
        msg_type="text",
        payload={"text": {"content": content}},
    )
    session.add(out)
    session.flush()
    return out.id
