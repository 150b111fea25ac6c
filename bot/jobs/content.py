"""Education articles sent by themselves for the stage of a patient's device (P7.1): the day
after placement daily care, after removal what to watch …; at most one a day per patient,
never in their quiet hours, each article once (``article_deliveries``)."""

from __future__ import annotations


def send_stage_articles() -> str:
    """Scheduled every 15 minutes. (Issue 16: to be built.)"""
    return "not built yet"
