"""Enqueueing the service's jobs: stable job ids and retry policies in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from rq import Queue, Retry

# A worker takes jobs from the first queue that has one: a computed reply goes out before the
# next turn is thought about (under a burst nobody waits for the whole backlog to be answered
# first), and both come before the bulk sends of a reminder sweep.
QUEUES = ("outbound", "inbound", "bulk", "default")
# Report photos are read by workers of their own (Procfile ``ocr``): a read takes seconds of
# CPU and the OCR models' memory, which the conversation's workers should not wait behind.
REPORTS = "reports"

# seconds before the 1st, 2nd, … retry of a job (and of an outbox row: bot/channels/outbox.py)
BACKOFF = [2, 5, 15, 30, 60, 120, 300, 600]
TURN_RETRY = Retry(max=len(BACKOFF), interval=BACKOFF)
SEND_RETRY = Retry(max=len(BACKOFF), interval=BACKOFF)


def enqueue_turn(conn: redis.Redis, inbox_id: int) -> None:
    Queue("inbound", connection=conn).enqueue(
        "bot.channels.turn.process_inbound",
        inbox_id,
        job_id=f"inbound-{inbox_id}",
        retry=TURN_RETRY,
        job_timeout=180,
        result_ttl=3600,
        failure_ttl=7 * 86400,
    )


def enqueue_report(conn: redis.Redis, report_id: int) -> None:
    """Read a report photo (bot.jobs.reports). A job that raises is retried; one whose worker
    died is re-enqueued by the sweeper; the job counts its attempts and gives up by itself."""
    Queue(REPORTS, connection=conn).enqueue(
        "bot.jobs.reports.read_report",
        report_id,
        job_id=f"report-{report_id}",
        retry=Retry(max=2, interval=[5, 30]),
        job_timeout=120,
        result_ttl=3600,
        failure_ttl=7 * 86400,
    )


# how a send job of one outbox row is kept and retried
SEND_OPTIONS: dict[str, Any] = {
    "retry": SEND_RETRY,
    "job_timeout": 60,
    "result_ttl": 3600,
    "failure_ttl": 7 * 86400,
}


def enqueue_send(conn: redis.Redis, outbox_id: int) -> None:
    Queue("outbound", connection=conn).enqueue(
        "bot.channels.outbox.send_outbox", outbox_id, job_id=f"outbound-{outbox_id}", **SEND_OPTIONS
    )


# Bulk sends (a reminder sweep's) have a queue of their own, behind the replies to patients
# (QUEUES above), so a backlog of reminders never delays a conversation.
BULK = "bulk"
SEND_BATCH = 20  # outbox rows per job of a bulk send: ~1 s of sending, not one job per row


def enqueue_send_later(conn: redis.Redis, outbox_id: int, delay: timedelta, attempts: int) -> None:
    """A bulk send that waits for its backoff, in a job of its own, retried from there with the
    intervals the row has not used yet (``attempts`` made so far), so a row sent from a batch
    waits as long in all as one sent alone."""
    rest = BACKOFF[attempts:] or BACKOFF[-1:]
    Queue(BULK, connection=conn).enqueue_in(
        delay,
        "bot.channels.outbox.send_outbox",
        outbox_id,
        job_id=f"outbound-{outbox_id}",
        **{**SEND_OPTIONS, "retry": Retry(max=len(rest), interval=rest)},
    )


def enqueue_sends(conn: redis.Redis, outbox_ids: list[int], chunk: int = 1000) -> None:
    """Many sends at once (a reminder sweep): one job per ``SEND_BATCH`` rows, in pipelined
    chunks. Creating a job costs about 100 µs, so 50,000 jobs of one row took 5 s; a batch
    job sends its rows one after the other and hands a row that must wait to a job of its
    own. A batch that dies leaves its unsent rows pending, for the sweeper."""
    queue = Queue(BULK, connection=conn)
    batches = [outbox_ids[i : i + SEND_BATCH] for i in range(0, len(outbox_ids), SEND_BATCH)]
    for start in range(0, len(batches), chunk):
        with conn.pipeline() as pipe:
            queue.enqueue_many(
                [
                    Queue.prepare_data(
                        "bot.channels.outbox.send_outbox_batch",
                        (batch,),
                        job_id=f"outbound-batch-{batch[0]}-{len(batch)}",
                        retry=SEND_RETRY,
                        timeout=SEND_BATCH * 30,
                        result_ttl=3600,
                        failure_ttl=7 * 86400,
                    )
                    for batch in batches[start : start + chunk]
                ],
                pipeline=pipe,
            )
            pipe.execute()


# The consultation job retries a busy WeChat Work API itself through RQ (it counts its
# attempts on the consultation and reports a failure after the last one).
CONSULTATION_RETRY = Retry(max=len(BACKOFF), interval=BACKOFF)


def enqueue_consultation(
    conn: redis.Redis, consultation_id: int, *, delay: timedelta | None = None
) -> None:
    """Open the consultation's group chat and post what it has not posted yet (the case card,
    media, notes, new members): ``bot.jobs.consultations.open_consultation``. Enqueued after
    the request, after new media or notes, and by an admin's "重试建群"; ``delay`` to try
    again later (a daily limit, another run busy). Each run is idempotent."""
    queue = Queue("outbound", connection=conn)
    options: dict[str, Any] = {
        "retry": CONSULTATION_RETRY,
        "job_timeout": 300,
        "result_ttl": 3600,
        "failure_ttl": 7 * 86400,
    }
    if delay is not None and delay > timedelta(0):
        queue.enqueue_in(
            delay, "bot.jobs.consultations.open_consultation", consultation_id, **options
        )
    else:
        queue.enqueue("bot.jobs.consultations.open_consultation", consultation_id, **options)
