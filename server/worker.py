"""``python -m server.worker [queues...]`` — an RQ worker over the process's container.

A ``SimpleWorker``: jobs run in the worker process instead of a child forked per job. A fork
per job cost about 100 ms on each of a turn's two jobs (the turn, then sending its reply) and
would share the database connection pool across processes; run more worker processes for more
concurrency. Job timeouts still apply (signal-based), and a worker that dies leaves its rows
to the sweeper.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv
from rq import SimpleWorker

from bot import container
from bot.jobs.queues import QUEUES, REPORTS

from .bootstrap import bootstrap


def main(argv: list[str]) -> None:
    load_dotenv()
    c = bootstrap()
    container.install(c)
    queues = argv or list(QUEUES)
    if REPORTS in queues:  # load the OCR models now, not on the first patient's photo
        from bot.ocr import engine

        engine(c.settings)
    SimpleWorker(queues, connection=c.redis).work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
