"""Enqueueing the service's jobs: stable job ids and retry policies in one place."""

from __future__ import annotations

import redis
from rq import Queue, Retry

TURN_RETRY = Retry(max=8, interval=[2, 5, 15, 30, 60, 120, 300, 600])
SEND_RETRY = Retry(max=8, interval=[2, 5, 15, 30, 60, 120, 300, 600])


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


def enqueue_send(conn: redis.Redis, outbox_id: int) -> None:
    Queue("outbound", connection=conn).enqueue(
        "bot.channels.outbox.send_outbox",
        outbox_id,
        job_id=f"outbound-{outbox_id}",
        retry=SEND_RETRY,
        job_timeout=60,
        result_ttl=3600,
        failure_ttl=7 * 86400,
    )


def enqueue_sends(conn: redis.Redis, outbox_ids: list[int], chunk: int = 1000) -> None:
    """Many sends at once (a reminder sweep), in pipelined chunks."""
    queue = Queue("outbound", connection=conn)
    for start in range(0, len(outbox_ids), chunk):
        with conn.pipeline() as pipe:
            queue.enqueue_many(
                [
                    Queue.prepare_data(
                        "bot.channels.outbox.send_outbox",
                        (outbox_id,),
                        job_id=f"outbound-{outbox_id}",
                        retry=SEND_RETRY,
                        timeout=60,
                        result_ttl=3600,
                        failure_ttl=7 * 86400,
                    )
                    for outbox_id in outbox_ids[start : start + chunk]
                ],
                pipeline=pipe,
            )
            pipe.execute()
