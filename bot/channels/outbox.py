"""Delivering outbox rows: once each, retried with backoff, permanent errors recorded.

A message that matters (``payload["_fallback"]``, e.g. a reminder) whose customer-service
window is closed is sent again as its fallback (a subscribe or template message). A reminder
that fails for good otherwise is tried on the next channel
(bot/services/reminders/ (delivery.try_next_channel)).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.media import UploadCache
from bot.adapters.wechat import Senders, WeChatError
from bot.container import current
from bot.jobs.queues import BACKOFF, enqueue_send, enqueue_send_later
from bot.models import OutboxMessage, utcnow
from bot.models.enums import Channel, DeliveryStatus
from bot.security.crypto import PiiCipher
from bot.services import notify, reminders
from bot.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = len(BACKOFF)
FALLBACK_REASONS = {"window_closed", "reply_count_exceeded"}
MEDIA_KINDS = ("image", "voice", "video", "file")  # payloads that may name a file by path


class SendLater(Exception):
    """A retryable failure; RQ runs the job again after its backoff (``delay``)."""

    def __init__(self, message: str, delay: timedelta = timedelta(0), attempts: int = 0) -> None:
        super().__init__(message)
        self.delay = delay
        self.attempts = attempts  # made so far


@dataclass
class Deliverer:
    session_factory: sessionmaker[Session]
    redis: redis.Redis
    senders: Senders
    uploads: UploadCache | None = None
    clock: Callable[[], datetime] = utcnow
    cipher: PiiCipher | None = None  # decrypts the mobile of an SMS row

    def deliver(self, outbox_id: int) -> DeliveryStatus | None:
        lock = self.redis.lock(f"vam:lock:outbox:{outbox_id}", timeout=120, blocking_timeout=0)
        if not lock.acquire():
            return None  # another worker is sending it right now
        try:
            return self._deliver(outbox_id)
        finally:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()

    def _deliver(self, outbox_id: int) -> DeliveryStatus | None:
        fallback_id = None
        with UnitOfWork(self.session_factory) as uow:
            row = uow.session.get(OutboxMessage, outbox_id)
            if row is None or row.status is not DeliveryStatus.PENDING:
                return row.status if row else None
            now = self.clock()
            row.attempts += 1
            try:
                row.provider_msg_id = self._send(row, uow.session)
            except WeChatError as exc:
                row.last_error = str(exc)[:2000]
                if exc.retryable and row.attempts < MAX_SEND_ATTEMPTS:
                    delay = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
                    row.next_attempt_at = now + timedelta(seconds=delay)
                    uow.commit()
                    log.warning("outbox %s: %s; retrying in %ss", row.id, exc, delay)
                    raise SendLater(str(exc), timedelta(seconds=delay), row.attempts) from exc
                row.status = DeliveryStatus.FAILED
                log.error("outbox %s failed for good: %s", row.id, exc)
                if exc.reason in FALLBACK_REASONS and row.payload.get("_fallback"):
                    fallback_id = self._add_fallback(uow.session, row)
                else:  # a reminder goes out on the next channel at the next sweep
                    reminders.try_next_channel(uow.session, row.dedupe_key, now)
                uow.commit()
                if fallback_id is not None:
                    enqueue_send(self.redis, fallback_id)
                return DeliveryStatus.FAILED
            row.status = DeliveryStatus.SENT
            row.sent_at = now
            row.last_error = None
            uow.commit()
            return DeliveryStatus.SENT

    def _send(self, row: OutboxMessage, session: Session) -> str | None:
        payload = self._resolve_media(row.channel, row.payload)
        if row.channel is Channel.MP:
            return self.senders.send_mp(row.recipient, payload)
        if row.channel is Channel.WORK:
            return self.senders.send_work(row.recipient, payload)
        if row.channel is Channel.SMS and self.cipher is not None:
            phone = notify.sms_phone(self.cipher, row.recipient, session)
            if phone is None:
                raise WeChatError(None, "没有手机号", retryable=False, reason="no_phone")
            return self.senders.send_sms(phone, payload)
        raise WeChatError(None, f"no sender for {row.channel}", retryable=False, reason="no_sender")

    def _resolve_media(self, channel: Channel, payload: dict[str, Any]) -> dict[str, Any]:
        """``{"image": {"path": ...}}`` becomes ``{"image": {"media_id": ...}}`` at send time;
        so do voice notes, videos (their title and description kept) and files."""
        for kind in MEDIA_KINDS:
            body = payload.get(kind)
            if isinstance(body, dict) and body.get("path"):
                return {**payload, kind: self._upload(channel, kind, body)}
        return payload

    def _upload(self, channel: Channel, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.uploads is None:
            raise WeChatError(
                None, "no upload cache configured", retryable=False, reason="no_uploads"
            )
        client = self.senders.mp if channel is Channel.MP else self.senders.work
        path = Path(body["path"])
        try:
            media_id = self.uploads.media_id(channel.value, client, path, kind)
        except FileNotFoundError as exc:
            raise WeChatError(
                None, f"{kind} file missing: {path}", retryable=False, reason="file_missing"
            ) from exc
        rest = {k: v for k, v in body.items() if k != "path"}
        return {**rest, "media_id": media_id}

    def _add_fallback(self, session: Session, row: OutboxMessage) -> int:
        key = f"{row.dedupe_key}:fallback"
        existing = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
        if existing is not None:
            return existing
        fallback = OutboxMessage(
            dedupe_key=key,
            inbox_id=row.inbox_id,
            channel=row.channel,
            recipient=row.recipient,
            msg_type=row.payload["_fallback"].get("_api", "subscribe"),
            payload=row.payload["_fallback"],
        )
        session.add(fallback)
        session.flush()
        return fallback.id


def deliverer_of_process() -> Deliverer:
    """The installed container's deliverer (the worker's)."""
    c = current()
    return Deliverer(
        session_factory=c.session_factory,
        redis=c.redis,
        senders=c.senders,
        uploads=c.uploads,
        cipher=c.cipher,
    )


def send_outbox(outbox_id: int) -> str | None:
    """RQ job: deliver one outbox row."""
    status = deliverer_of_process().deliver(outbox_id)
    return None if status is None else status.value


def send_outbox_batch(outbox_ids: list[int]) -> dict[str, int]:
    """RQ job: deliver several outbox rows (a reminder sweep's) one after the other; a row
    that must wait for a retry continues in a job of its own. Counts by outcome."""
    deliverer = deliverer_of_process()
    counts: dict[str, int] = {}
    for outbox_id in outbox_ids:
        try:
            status = deliverer.deliver(outbox_id)
            outcome = "busy" if status is None else status.value
        except SendLater as later:
            enqueue_send_later(deliverer.redis, outbox_id, later.delay, later.attempts)
            outcome = "retrying"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
