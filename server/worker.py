"""``python -m server.worker [queues...]`` — an RQ worker with the job context installed.

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

from bot.config import load_settings
from bot.jobs import context

from . import Container
from .adapters import build_adapters


def build_context(c: Container) -> context.JobContext:
    return context.JobContext(
        settings=c.settings,
        session_factory=c.session_factory,
        redis=c.redis,
        cipher=c.cipher,
        adapters=build_adapters(c.settings, c.redis),
    )


def main(argv: list[str]) -> None:
    load_dotenv()
    c = Container(load_settings())
    context.install(build_context(c))
    queues = argv or list(context.QUEUES)
    SimpleWorker(queues, connection=c.redis).work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
