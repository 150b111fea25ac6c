"""``python -m server.worker [queues...]`` — an RQ worker with the job context installed."""

from __future__ import annotations

import sys

from dotenv import load_dotenv
from rq import Worker

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
    Worker(queues, connection=c.redis).work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
