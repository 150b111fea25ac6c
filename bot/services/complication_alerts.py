"""WeChat Work alerts about complications (A7.3): filled in by the tracking-board work.

A stub for now, so that reporting can call it: no alert is sent yet."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Complication


def on_reported(session: Session, d: Dictionary, complication: Complication) -> list[int]:
    """Outbox ids of the alerts a newly reported complication raises (none yet)."""
    return []
