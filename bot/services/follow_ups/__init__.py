"""Smart follow-up (随访, A7.4): check-ins on each follow-up date, the patient's answers in
chat, triage by the dictionary's red-flag rules, and the nurse's lists.

The modules: ``sweeping`` (the scheduled sweep: check-ins, the one reminder, the nurse's list),
``chat`` (a patient's reply while a check-in awaits it), ``answers`` (reading a reply, no I/O),
``nurses`` (who is told in WeChat Work), ``lists`` (today's list, a catheter's check-ins) and
``wording`` (what people read)."""

from __future__ import annotations

from .answers import Reading, read
from .chat import ChatOutcome, answer, awaiting, next_one
from .lists import FollowUpView, for_catheter, today_list
from .sweeping import KEY_PREFIX, SweepResult, sweep

__all__ = [
    "KEY_PREFIX",
    "ChatOutcome",
    "FollowUpView",
    "Reading",
    "SweepResult",
    "answer",
    "awaiting",
    "next_one",
    "for_catheter",
    "read",
    "sweep",
    "today_list",
]
