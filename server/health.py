"""The health check of /healthz and docker-compose."""

from __future__ import annotations

from sqlalchemy import text

from bot.container import Container


def health(c: Container) -> dict[str, str]:
    """Check the database and Redis; used by /healthz and docker-compose."""
    status = {}
    try:
        with c.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        status["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        status["database"] = f"error: {type(exc).__name__}"
    try:
        c.redis.ping()
        status["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        status["redis"] = f"error: {type(exc).__name__}"
    return status


def dialogue(c: Container) -> str:
    """Whether the dialogue engine answers. Reported, not part of the web's own health: while
    Rasa restarts, callbacks are still taken and people get a holding reply."""
    return "ok" if c.dialogue.reachable() else "unreachable"
