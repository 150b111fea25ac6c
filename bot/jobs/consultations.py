"""Consultation jobs: the group chat opened and fed (``open_consultation``), and the reminder
of consultations left without a conclusion (``remind_unconcluded``), and the sweep that
enqueues again the ones a lost job left behind (``sweep_stalled``).

``open_consultation`` is safe to run again at any step: the chat is created under a chatid
derived from the consultation (a lost answer is found again with ``appchat/get``), and every
message for the group is an outbox row with a stable key, delivered here one after the other
(the card before the media) through the outbox's Deliverer, so a retried run sends nothing
that was sent. A WeChat Work error that may pass is retried by RQ (``CONSULTATION_RETRY``); a
permanent one, or the last retry, leaves the consultation REQUESTED with its error in words,
told to the requester and the administrators.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.adapters.wechat import WeChatError
from bot.channels.outbox import Deliverer, deliverer_of_process
from bot.container import Container, current
from bot.jobs.locking import only_one
from bot.jobs.queues import enqueue_consultation, enqueue_send
from bot.models import (
    Consultation,
    ConsultationMedia,
    ConsultationNote,
    OutboxMessage,
    utcnow,
)
from bot.models.enums import ConsultationStatus, DeliveryStatus
from bot.services import dictionary as dictionary_service
from bot.services.consultations import chat, decisions

log = logging.getLogger(__name__)

BUSY_DELAY = timedelta(seconds=20)  # another run holds the consultation: look again
DAILY_LIMIT_SLACK = timedelta(minutes=10)  # after midnight in China, when the quota resets
REMIND_LOCK = "vam:lock:consultation-reminders"
SWEEP_LOCK = "vam:lock:consultation-sweep"
STALLED_AFTER = timedelta(minutes=5)  # a job lost, or Redis down when it was to be enqueued


class ChatLater(Exception):
    """WeChat Work may work later: RQ runs the job again after its backoff."""


def open_consultation(consultation_id: int) -> str:
    """RQ job: open the consultation's group chat (if not yet), add members invited since,
    post what the group has not had (card, media, notes), then mark it OPEN and tell the
    requester and the consultants."""
    ctx = current()
    with only_one(f"vam:lock:consultation:{consultation_id}", timeout=300) as mine:
        if not mine:
            enqueue_consultation(ctx.redis, consultation_id, delay=BUSY_DELAY)
            return "another run is busy; queued again"
        return run(ctx, deliverer_of_process(), consultation_id)


def run(ctx: Container, deliverer: Deliverer, consultation_id: int) -> str:
    outcome = _chat(ctx, consultation_id)
    if outcome is not None:
        return outcome
    _post_all(ctx, deliverer, consultation_id)
    return _opened(ctx, consultation_id)


def _tell(ctx: Container, ids: list[int]) -> None:
    for outbox_id in ids:
        enqueue_send(ctx.redis, outbox_id)


def _chat(ctx: Container, consultation_id: int) -> str | None:
    """The chat made and its members in; a string when this run ends here."""
    settings = ctx.settings
    base = settings.public_base_url
    with ctx.uow() as uow:
        s = uow.session
        c = s.get(Consultation, consultation_id)
        if c is None or c.status is ConsultationStatus.CLOSED:
            return "nothing to do"
        d = dictionary_service.current(s)
        had_chat = c.chat_id is not None
        try:
            left_out = chat.ensure_chat(s, d, c, ctx.senders, secret=settings.secret_key)
        except chat.ChatFailed as failure:
            ids = chat.report_failure(s, c, failure, base_url=base)
            uow.commit()
            _tell(ctx, ids)
            log.error("consultation %s: no group chat: %s", c.id, failure.reason)
            return f"failed: {failure.code}"
        except WeChatError as error:
            c.chat_attempts += 1
            if error.errcode == 45009 and not had_chat:
                # the corporation's 1,000 new groups a day are used up: tomorrow, not in minutes
                daily = chat.ChatFailed(
                    "今日企业微信建群数量已达上限（每天1000个），系统将于次日凌晨自动重试",
                    "daily_limit",
                )
                ids = chat.report_failure(s, c, daily, base_url=base)
                uow.commit()
                _tell(ctx, ids)
                enqueue_consultation(ctx.redis, c.id, delay=_after_midnight(ctx, utcnow()))
                return "daily limit: retrying tomorrow"
            failure_or_none = chat.failure_of(error, c.chat_attempts)
            if failure_or_none is not None:
                ids = chat.report_failure(s, c, failure_or_none, base_url=base)
                uow.commit()
                _tell(ctx, ids)
                log.error("consultation %s: chat failed for good: %s", c.id, error)
                return f"failed: {failure_or_none.code}"
            c.chat_error = (
                f"企业微信暂时不可用（{chat.reason_words(error)}），"
                f"第{c.chat_attempts}次尝试失败，稍后自动重试"
            )[:255]
            uow.commit()
            log.warning("consultation %s: %s; retrying", c.id, error)
            raise ChatLater(str(error)) from error
        if not had_chat:
            c.chat_attempts, c.chat_error = 0, None
        ids = chat.notify_left_out(s, c, left_out)
        try:
            ids += chat.add_new_members(s, c, ctx.senders)
        except WeChatError as error:  # one that may pass: the members wait, the posts go on
            c.chat_attempts += 1
            if c.chat_attempts < chat.MAX_CHAT_ATTEMPTS:
                c.chat_error = (
                    f"新成员暂未能拉入会诊群（{chat.reason_words(error)}），"
                    f"第{c.chat_attempts}次尝试失败，稍后自动重试"
                )[:255]
                uow.commit()
                _tell(ctx, ids)
                log.warning("consultation %s: members not added: %s; retrying", c.id, error)
                raise ChatLater(str(error)) from error
            ids += chat.give_up_members(s, c, error)
        uow.commit()
    _tell(ctx, ids)
    return None


def _after_midnight(ctx: Container, now: datetime) -> timedelta:
    tz = ctx.settings.timezone
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=tz) + DAILY_LIMIT_SLACK - now


def _post_all(ctx: Container, deliverer: Deliverer, consultation_id: int) -> None:
    """Each message the group has not had, one row at a time: a row is written only when the
    one before it was delivered (or failed for good), so nothing overtakes the case card."""
    settings = ctx.settings
    while True:
        with ctx.uow() as uow:
            s = uow.session
            c = s.get(Consultation, consultation_id)
            if c is None or not c.chat_id:
                return
            now = utcnow()
            pending = chat.posts(
                s,
                dictionary_service.current(s),
                c,
                base_url=settings.public_base_url,
                tz=settings.timezone,
                today=now.astimezone(settings.timezone).date(),
                media_root=settings.media_root,
            )
            if not pending:
                return
            post = pending[0]
            row_id = chat.to_chat(s, c.chat_id, post.body, key=post.key)
            uow.commit()
        status = deliverer.deliver(row_id)  # SendLater (retryable) goes up to RQ
        if status is None:
            raise ChatLater(f"outbox {row_id} is being sent by another worker")
        if status is DeliveryStatus.SENT:
            with ctx.uow() as uow:
                chat.mark_posted(uow.session, post, utcnow())
                uow.commit()
        else:
            log.error("consultation %s: %s could not be posted", consultation_id, post.key)
            if post.media is not None:
                with ctx.uow() as uow:
                    s = uow.session
                    c = s.get(Consultation, consultation_id)
                    media = s.get(ConsultationMedia, post.media.id)
                    ids = (
                        chat.notify_media_failed(s, c, media, base_url=settings.public_base_url)
                        if c is not None and media is not None
                        else []
                    )
                    uow.commit()
                _tell(ctx, ids)


def _opened(ctx: Container, consultation_id: int) -> str:
    """After the posts: a chat whose card went out is open — the first time (``opened_at``
    unset, whatever the status: a conclusion may come before the chat), REQUESTED becomes
    OPEN and the requester and consultants are told; every completed run clears the error."""
    base = ctx.settings.public_base_url
    with ctx.uow() as uow:
        s = uow.session
        c = s.get(Consultation, consultation_id)
        if c is None or not c.chat_id:
            return "posted"
        row = s.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(
                OutboxMessage.dedupe_key == chat.card_key(c)
            )
        ).first()
        if row is None or row.status != DeliveryStatus.SENT:
            if c.opened_at is not None:
                return "posted"
            if row is not None:
                log.error("consultation %s: card not sent: %s", c.id, row.last_error)
            failure = chat.ChatFailed("会诊群已建立，但病例卡片未能发送", "card")
            ids = chat.report_failure(s, c, failure, base_url=base)
            uow.commit()
            _tell(ctx, ids)
            return "failed: card"
        c.chat_attempts, c.chat_error = 0, None
        if c.opened_at is not None:
            uow.commit()
            return "posted"
        if c.status is ConsultationStatus.REQUESTED:
            c.status = ConsultationStatus.OPEN
        c.opened_at = utcnow()
        ids = chat.notify_opened(s, c, base_url=base)
        uow.commit()
    _tell(ctx, ids)
    return "open"


def remind_unconcluded() -> str:
    """Scheduled: consultations open too long without a conclusion remind their consultants
    (once per period); the sends are queued after commit."""
    ctx = current()
    with only_one(REMIND_LOCK, timeout=300) as mine:
        if not mine:
            return "another check is running"
        with ctx.uow() as uow:
            ids = decisions.unconcluded(
                uow.session,
                utcnow(),
                hours=ctx.settings.consultation_remind_hours,
                base_url=ctx.settings.public_base_url,
            )
            uow.commit()
        _tell(ctx, ids)
        return f"queued {len(ids)}"


def stalled(session: Session, now: datetime) -> list[int]:
    """Consultations a lost job left behind, for ``STALLED_AFTER``: no chat and no error (a
    request, or a conclusion written before the chat), or a chat with media or notes never
    posted (not the ones that failed for good: those wait for an administrator's retry)."""
    cutoff = now - STALLED_AFTER
    found = set(
        session.scalars(
            select(Consultation.id).where(
                Consultation.status.in_(
                    [ConsultationStatus.REQUESTED, ConsultationStatus.CONCLUDED]
                ),
                Consultation.chat_id.is_(None),
                Consultation.chat_error.is_(None),
                Consultation.created_at <= cutoff,
            )
        )
    )
    live = [ConsultationStatus.OPEN, ConsultationStatus.CONCLUDED]
    media = session.execute(
        select(ConsultationMedia.consultation_id, ConsultationMedia.id)
        .join(Consultation, Consultation.id == ConsultationMedia.consultation_id)
        .where(
            Consultation.status.in_(live),
            Consultation.chat_id.is_not(None),
            ConsultationMedia.posted_at.is_(None),
            ConsultationMedia.created_at <= cutoff,
        )
    ).all()
    notes = session.execute(
        select(ConsultationNote.consultation_id, ConsultationNote.id)
        .join(Consultation, Consultation.id == ConsultationNote.consultation_id)
        .where(
            Consultation.status.in_(live),
            Consultation.chat_id.is_not(None),
            ConsultationNote.posted_at.is_(None),
            ConsultationNote.at <= cutoff,
        )
    ).all()
    keys = {f"consultation:{cid}:media:{mid}": cid for cid, mid in media}
    keys |= {f"consultation:{cid}:note:{nid}": cid for cid, nid in notes}
    failed = (
        set(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(list(keys)),
                    OutboxMessage.status == DeliveryStatus.FAILED,
                )
            )
        )
        if keys
        else set()
    )
    found |= {cid for key, cid in keys.items() if key not in failed}
    return sorted(found)


def sweep_stalled() -> str:
    """Scheduled: consultations a lost job left behind are enqueued again."""
    ctx = current()
    with only_one(SWEEP_LOCK, timeout=300) as mine:
        if not mine:
            return "another sweep is running"
        with ctx.uow() as uow:
            ids = stalled(uow.session, utcnow())
        for consultation_id in ids:
            enqueue_consultation(ctx.redis, consultation_id)
        if ids:
            log.info("consultations %s left behind: queued again", ids)
        return f"queued {len(ids)}"
