"""Consultation jobs: the group chat opened and fed (``open_consultation``), and the reminder
of consultations left without a conclusion (``remind_unconcluded``)."""

from __future__ import annotations


def open_consultation(consultation_id: int) -> str:
    """RQ job: open the consultation's group chat and post the case (being built)."""
    raise NotImplementedError
