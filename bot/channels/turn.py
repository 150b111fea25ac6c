"""A conversation turn, run by a worker: inbox row → dialogue engine → outbox rows.

Exactly once: the inbox row's status says whether the turn is done; the engine's replies are
committed before any outbox row is written, so a retried turn never asks the engine twice;
outbox rows have unique keys derived from the inbox row, so a re-run writes nothing new.
In order: turns of one user run under a per-user Redis lock, oldest pending message first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from redis.lock import Lock
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.wechat import WeChatError
from bot.container import Renderer, current
from bot.dialogue import DialogueEngine, DialogueInput, EngineUnavailable, Reply
from bot.jobs.queues import enqueue_consultation, enqueue_send
from bot.models import InboxMessage, OutboxMessage, utcnow
from bot.models.enums import Channel, FollowUpStatus, InboxStatus
from bot.services import dictionary as dictionary_service
from bot.services import follow_ups, names, people
from bot.services.consultations import chat_words as consultation_words
from bot.uow import UnitOfWork

from . import apologies, inputs, messages

log = logging.getLogger(__name__)

MAX_TURN_ATTEMPTS = 8
MP_MAX_REPLIES = 5  # WeChat allows 5 customer-service messages per user message

MediaFetcher = Callable[[Channel, str], dict[str, Any]]


OUTAGES = (EngineUnavailable, WeChatError, OperationalError, redis.RedisError)


LOCK_TTL = 15  # seconds a dead worker can hold a user's turns
HOLD_AFTER = timedelta(seconds=20)  # an engine outage this long gets a holding reply
OUTAGE_KEY = "vam:dialogue:outage"  # since when the engine has not answered (Redis)
# an outage ends after this long without a holding reply: no Redis call on a turn that works
OUTAGE_QUIET = 300


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TurnBusy(Exception):
    """Another worker is running this user's turns; RQ retries this job shortly."""


class _KeptAlive:
    """Extends a Redis lock every third of its TTL from a thread until the block ends."""

    def __init__(self, lock: Lock) -> None:
        self._lock = lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(LOCK_TTL / 3):
            try:
                self._lock.reacquire()
            except (redis.exceptions.LockError, redis.RedisError):
                log.warning("could not extend the turn lock %s", self._lock.name)

    def __enter__(self) -> _KeptAlive:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class TurnRunner:
    session_factory: sessionmaker[Session]
    redis: redis.Redis
    engine: DialogueEngine
    render: Renderer
    fetch_media: MediaFetcher | None = None
    clock: Callable[[], datetime] = utcnow
    hospital_phone: str = ""
    public_base_url: str = ""

    def run(self, inbox_id: int) -> None:
        with UnitOfWork(self.session_factory) as uow:
            row = uow.session.get(InboxMessage, inbox_id)
            if row is None:
                log.warning("inbox row %s does not exist", inbox_id)
                return
            channel, sender = row.channel, row.sender
        # A short lock kept alive while this worker lives: a worker killed mid-turn holds a
        # user's turns for LOCK_TTL at most, not minutes. Not waiting for it keeps this worker
        # free for other people; RQ retries the job within seconds.
        lock = self.redis.lock(
            f"vam:lock:turn:{channel.value}:{sender}", timeout=LOCK_TTL, blocking=False
        )
        if not lock.acquire():
            raise TurnBusy(f"turns of {channel.value}:{sender} are running elsewhere")
        try:
            with _KeptAlive(lock):
                # drain this user's pending messages in order; ours is among them
                while (next_id := self._oldest_pending(channel, sender)) is not None:
                    self._one(next_id)
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                log.warning("turn lock of %s:%s expired before release", channel.value, sender)

    def _oldest_pending(self, channel: Channel, sender: str) -> int | None:
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.scalar(
                select(InboxMessage.id)
                .where(
                    InboxMessage.channel == channel,
                    InboxMessage.sender == sender,
                    InboxMessage.status.in_([InboxStatus.PENDING, InboxStatus.PROCESSING]),
                )
                .order_by(InboxMessage.id)
                .limit(1)
            )

    def _one(self, inbox_id: int) -> None:
        with UnitOfWork(self.session_factory) as uow:
            row = uow.session.get(InboxMessage, inbox_id)
            assert row is not None
            if row.status in (InboxStatus.DONE, InboxStatus.FAILED):
                return
            now = self.clock()
            row.status = InboxStatus.PROCESSING
            try:
                replies = self._replies(uow.session, row, now)
                outbox_ids = self._write_outbox(uow.session, row, replies)
            except Exception as exc:
                self._record_failure(uow, inbox_id, exc, now)
                if isinstance(exc, messages.MalformedMessage):
                    return
                raise
            row.attempts += 1
            row.status = InboxStatus.DONE
            row.processed_at = now
            row.next_attempt_at = None
            # an action that broke answered with an apology: what broke is kept for admins
            row.last_error = apologies.turn_error(replies)
            if row.last_error:
                log.error("inbox %s answered with an apology: %s", row.id, row.last_error)
            uow.commit()
        for outbox_id in outbox_ids:
            try:
                enqueue_send(self.redis, outbox_id)
            except redis.RedisError:
                log.exception("could not enqueue outbox %s; the sweeper will", outbox_id)

    def _record_failure(
        self, uow: UnitOfWork, inbox_id: int, exc: Exception, now: datetime
    ) -> None:
        """Undo the half-done turn (the engine's committed answer stays) and record why.

        Outages (engine, WeChat, network, database) are waited out, never given up on; a
        malformed message fails at once; any other error fails after MAX_TURN_ATTEMPTS.
        """
        uow.rollback()
        row = uow.session.get(InboxMessage, inbox_id)
        assert row is not None
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, messages.MalformedMessage):
            row.status = InboxStatus.FAILED
        elif not isinstance(exc, OUTAGES) and row.attempts >= MAX_TURN_ATTEMPTS:
            row.status = InboxStatus.FAILED
            log.error("giving up inbox %s after %s attempts: %s", row.id, row.attempts, exc)
        else:
            row.status = InboxStatus.PENDING
            row.next_attempt_at = now + timedelta(seconds=min(600, 2**row.attempts))
        said = None
        if row.status is InboxStatus.FAILED:  # the person is not left with nothing
            text = apologies.apology(self.hospital_phone)
            said = _say(uow.session, row, text, key=f"in:{row.id}:apology")
        elif isinstance(exc, EngineUnavailable) and now - _aware(row.received_at) >= HOLD_AFTER:
            said = self._hold(uow.session, row, now)
        uow.commit()
        if said is not None:
            with suppress(redis.RedisError):  # else the sweeper sends it
                enqueue_send(self.redis, said)

    def _hold(self, session: Session, row: InboxMessage, now: datetime) -> int:
        """The holding reply of an engine outage: once per outage per person."""
        try:  # the outage began with its first holding reply and ends after OUTAGE_QUIET
            pipe = self.redis.pipeline()
            pipe.set(OUTAGE_KEY, now.isoformat(), nx=True, ex=OUTAGE_QUIET)
            pipe.expire(OUTAGE_KEY, OUTAGE_QUIET)
            pipe.get(OUTAGE_KEY)
            started = (pipe.execute()[-1] or b"").decode()
        except redis.RedisError:
            started = f"{now:%Y%m%d%H}"  # one an hour while Redis is down too
        key = f"hold:{row.channel.value}:{row.sender}:{started}"
        return _say(session, row, apologies.holding(self.hospital_phone), key=key)

    def _replies(self, session: Session, row: InboxMessage, now: datetime) -> list[Reply]:
        """Ask the engine once; the answer is committed before anything else happens."""
        if row.replies is not None:
            return row.replies
        msg = messages.load(row.channel, row.payload)
        sender = people.resolve(session, row.channel, row.sender, now)
        # a retried turn (after an outage or a crash) keeps what its first attempt decided:
        # resolve() has since recorded this very message as the sender's last one
        first_contact = (row.turn_input or {}).get(
            "first_contact", (sender.metadata or {}).get("first_contact", False)
        )
        event = str(row.payload.get("Event", "")).lower()
        if row.channel is Channel.MP and event == "unsubscribe":
            people.mark_unsubscribed(session, row.sender)
        turn = inputs.to_dialogue_input(msg)
        if turn is None:
            row.replies = []
            return []
        if row.channel is Channel.MP and turn.text and not turn.text.startswith("/"):
            answered = self._follow_up_answer(session, row, turn, now)
            if answered is not None:
                return answered
        if sender.staff_id and turn.text and not turn.text.startswith("/"):
            answered = self._consultation_words(session, row, turn, sender.staff_id, now)
            if answered is not None:
                return answered
        turn = self._with_media(row.channel, turn)
        hinted: dict[str, Any] = {}
        if sender.staff_id and turn.text:  # patient names, read from the clinician's text
            hinted = names.hints(session, sender.staff_id, turn.text)
            bare = names.only_a_name(turn.text, hinted.get("patient_names", []))
            # a message that is only a name looks that patient up — unless a form asked for it
            if bare and self.engine.active_form(f"{row.channel.value}:{row.sender}") is None:
                turn = DialogueInput(intent="search_patient", entities={"patient_name": bare})
        row.turn_input = {**turn.to_dict(), "first_contact": first_contact}
        # no transaction stays open across the engine call: the actions it runs write to the
        # same database (on SQLite an open write would lock them out)
        session.commit()
        # the inbox id lets actions make what they save idempotent per inbound message
        metadata = {**(sender.metadata or {}), **hinted, "inbox_id": row.id}
        if row.channel is Channel.MP:
            metadata["first_contact"] = first_contact
        replies = self.engine.handle(f"{row.channel.value}:{row.sender}", turn, metadata)
        if turn.text and not replies:  # a text must be answered, whatever broke behind it
            error = "the dialogue engine gave no answer"
            replies = [apologies.apology_reply(self.hospital_phone, action="engine", error=error)]
        if turn.text and turn.entities.get("truncated"):
            notice = f"您的消息较长，我先阅读了前{inputs.MAX_TEXT}个字。如有遗漏，请分几条发送。"
            replies = [{"text": notice}, *replies]
        row.replies = replies
        session.commit()  # the engine's answer is durable before any outbox row exists
        return replies

    def _follow_up_answer(
        self, session: Session, row: InboxMessage, turn: DialogueInput, now: datetime
    ) -> list[Reply] | None:
        """A patient's text while a check-in awaits their answer is the follow-up's (A7.4),
        unless it is about something else; the nurse's notices are sent after commit."""
        waiting = follow_ups.awaiting(session, row.sender, now)
        if waiting is None or not turn.text:
            return None
        d = dictionary_service.current(session)
        conversation = f"{row.channel.value}:{row.sender}"
        outcome = follow_ups.answer(
            session,
            d,
            waiting,
            turn.text,
            now,
            in_form=lambda: self.engine.active_form(conversation) is not None,
        )
        if outcome is None:
            return None
        replies = outcome.replies
        if waiting.status is not FollowUpStatus.SENT:  # closed: another may be waiting
            following = follow_ups.next_one(session, d, row.sender, now)
            replies = [*replies, {"text": following}] if following else replies
        row.turn_input = {**turn.to_dict(), "follow_up_id": outcome.follow_up_id}
        row.replies = replies
        session.commit()
        for outbox_id in outcome.outbox_ids:
            with suppress(redis.RedisError):  # else the sweeper sends it
                enqueue_send(self.redis, outbox_id)
        return replies

    def _consultation_words(
        self, session: Session, row: InboxMessage, turn: DialogueInput, staff_id: int, now: datetime
    ) -> list[Reply] | None:
        """A clinician's "会诊结论：…" / "会诊结束" (C5.1), whatever the model would make of it;
        the group's posts and the requester's notice are sent after commit."""
        outcome = consultation_words.answer(
            session, staff_id, str(turn.text), now, base_url=self.public_base_url
        )
        if outcome is None:
            return None
        row.turn_input = {**turn.to_dict(), "consultation_id": outcome.consultation_id}
        row.replies = outcome.replies
        session.commit()
        with suppress(redis.RedisError):  # else the sweeper sends them
            for outbox_id in outcome.outbox_ids:
                enqueue_send(self.redis, outbox_id)
            if outcome.consultation_id is not None:
                enqueue_consultation(self.redis, outcome.consultation_id)
        return outcome.replies

    def _with_media(self, channel: Channel, turn: DialogueInput) -> DialogueInput:
        media_id = turn.entities.get("media_id")
        if not media_id or self.fetch_media is None:
            return turn
        try:
            stored = self.fetch_media(channel, str(media_id))
        except WeChatError as exc:
            if exc.retryable:
                raise
            # e.g. media expired (3-day life): the dialogue asks the user to send it again
            stored = {"media_error": exc.reason}
        return DialogueInput(
            text=turn.text, intent=turn.intent, entities={**turn.entities, **stored}
        )

    def _write_outbox(self, session: Session, row: InboxMessage, replies: list[Reply]) -> list[int]:
        rendered: list[tuple[str, dict[str, Any]]] = []
        for reply in replies:
            rendered.extend(self.render(reply, row.channel))
        if row.channel is Channel.MP:
            rendered = merge_texts(rendered, MP_MAX_REPLIES)
        code = row.payload.get("ResponseCode") if row.event == "template_card_event" else None
        if code:
            # the clicked card changes at once, so the same button cannot be pressed twice
            rendered.insert(0, card_clicked(code))
        return [
            _reply_row(session, row, msg_type, payload, key=f"in:{row.id}:{n}")
            for n, (msg_type, payload) in enumerate(rendered)
        ]


def _say(session: Session, row: InboxMessage, text: str, key: str) -> int:
    # a plain text, not through the renderer: it must go out when rendering is what broke
    payload = {"msgtype": "text", "text": {"content": text}}
    return _reply_row(session, row, "text", payload, key)


def _reply_row(
    session: Session, row: InboxMessage, msg_type: str, payload: dict[str, Any], key: str
) -> int:
    """The outbox row answering ``row``, written once under ``key``; its id."""
    existing = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return existing
    out = OutboxMessage(
        dedupe_key=key,
        inbox_id=row.id,
        channel=row.channel,
        recipient=row.sender if row.channel is Channel.MP else f"user:{row.sender}",
        msg_type=msg_type,
        payload=payload,
    )
    session.add(out)
    session.flush()
    return out.id


def card_clicked(response_code: str) -> tuple[str, dict[str, Any]]:
    payload = {
        "_api": "update_template_card",
        "response_code": response_code,
        "button": {"replace_name": "已提交"},
    }
    return "update_template_card", payload


def merge_texts(
    rendered: list[tuple[str, dict[str, Any]]], limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """Stay within WeChat's per-message reply allowance: join consecutive texts, and if
    still too many, fold the tail texts into the last allowed one."""
    merged: list[tuple[str, dict[str, Any]]] = []
    for msg_type, payload in rendered:
        if msg_type == "text" and merged and merged[-1][0] == "text":
            prev = merged[-1][1]
            merged[-1] = (
                "text",
                {
                    **prev,
                    "text": {
                        "content": prev["text"]["content"] + "\n\n" + payload["text"]["content"]
                    },
                },
            )
        else:
            merged.append((msg_type, payload))
    if len(merged) > limit:
        log.warning(
            "turn produced %s messages; WeChat allows %s, dropping non-text extras",
            len(merged),
            limit,
        )
        head, tail = merged[: limit - 1], merged[limit - 1 :]
        texts = [p["text"]["content"] for t, p in tail if t == "text"]
        last = (
            tail[0]
            if not texts
            else ("text", {"msgtype": "text", "text": {"content": "\n\n".join(texts)}})
        )
        merged = [*head, last]
    return merged


def process_inbound(inbox_id: int) -> None:
    """RQ job: run the turn(s) of the user who sent inbox row ``inbox_id``."""
    c = current()
    TurnRunner(
        session_factory=c.session_factory,
        redis=c.redis,
        engine=c.dialogue,
        render=c.render,
        fetch_media=c.fetch_media,
        hospital_phone=c.settings.hospital_phone,
        public_base_url=c.settings.public_base_url,
    ).run(inbox_id)
