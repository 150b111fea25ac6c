"""Calendar periods shared by the dashboard's quick choices and the monthly indicator set."""

from __future__ import annotations

from datetime import date


def previous_month(today: date) -> tuple[date, date]:
    """[start, end) of the calendar month before ``today``'s (January → December before)."""
    end = today.replace(day=1)
    start = (
        end.replace(year=end.year - 1, month=12)
        if end.month == 1
        else end.replace(month=end.month - 1)
    )
    return start, end
