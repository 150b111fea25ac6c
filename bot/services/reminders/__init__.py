"""The reminder sweep (P3.1–P3.3, A7.4): N days before the due date, on the day, and when
overdue, once per catheter, due date, kind and channel.

The sweep is set-based: one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per channel writes the
reminders of every catheter in place whose next due date is within the window (unique key
catheter, due date, channel, kind), so two sweeps running at once — or a sweep re-run after a
crash — create each reminder once. Bulk UPDATEs then settle what will not be sent now
(replaced by a later reminder or a maintenance, no mobile, no followed account, quiet hours);
only the reminders left get a message rendered in Python — an in-app message (the reminder is
then sent), or an outbox row (dedupe key ``reminder:{id}``; the reminder is then queued and the
outbox row tells the outcome) — page by page. A reminder still pending (a crash after its row
was committed) gets its message on the next sweep. Overdue patients of a tier with escalation are
reported to their responsible nurse in WeChat Work.

The modules: ``sweeping`` (the sweep, settling, quiet hours), ``delivery`` (in-app, WeChat and
SMS, and a failed send's next channel), ``escalation``, ``wording`` (the patient's words),
``history_view`` (a catheter's reminders in words) and ``common`` (the outbox key, SQL helpers,
the reminder-row and next-channel writers).
"""

from __future__ import annotations

from .common import KEY_PREFIX, NEXT_CHANNEL, NO_FOLLOWER, NO_PHONE, SweepResult
from .delivery import PAGE, WeChatFallback, try_next_channel
from .escalation import escalate
from .history_view import CHANNEL_LABELS, KIND_LABELS, HistoryEntry, history
from .sweeping import ANALYZE_AFTER, PATIENT_CHANNELS, REPLACED, in_quiet_hours, sweep
from .wording import WORDS, words

__all__ = [
    "ANALYZE_AFTER",
    "CHANNEL_LABELS",
    "KEY_PREFIX",
    "KIND_LABELS",
    "NEXT_CHANNEL",
    "NO_FOLLOWER",
    "NO_PHONE",
    "PAGE",
    "PATIENT_CHANNELS",
    "REPLACED",
    "WORDS",
    "HistoryEntry",
    "SweepResult",
    "WeChatFallback",
    "escalate",
    "history",
    "in_quiet_hours",
    "sweep",
    "try_next_channel",
    "words",
]
