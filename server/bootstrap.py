"""``bootstrap(settings)``: the one composition root of every process.

The web app (``server.create_app``), the RQ worker (``server.worker``), the scheduler and the
action server (``server.actions``) each call it once; nothing else builds engines, Redis
clients or WeChat clients.
"""

from __future__ import annotations

from typing import Any

import cards
from bot.config import Settings, load_settings
from bot.container import Container


def bootstrap(settings: Settings | None = None, **overrides: Any) -> Container:
    """A container for ``settings`` (read from the environment when not given).

    ``overrides`` replace collaborators by name before first use — a test's fake dialogue
    engine or session factory; names that are not collaborators are refused.
    """
    c = Container(settings or load_settings(), render=cards.render)
    for name, value in overrides.items():
        if not hasattr(Container, name) and name != "render":
            raise TypeError(f"bootstrap() got an unknown collaborator {name!r}")
        setattr(c, name, value)
    return c
