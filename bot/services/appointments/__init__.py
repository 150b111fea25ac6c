"""Maintenance-clinic appointments (P8.1). ``booking``: book, cancel, change, the patient's
bookings; ``fitting``: the services that fit the patient's devices; ``clinic``: the day's list
per clinic and arrived / no-show; ``schedule``: slots generated from weekly sessions, capacity
edits, closures; ``notices``: the reminder the day before and what a closure tells patients."""

from __future__ import annotations

from .booking import (
    SERVICES,
    STATUS_LABELS,
    WEEKDAYS,
    Booked,
    Booking,
    BookingRefused,
    Refused,
    account_patients,
    book,
    bookable_institutions,
    bookable_services,
    bookings,
    cancel,
    change,
    open_days,
    open_slots,
    release,
    upcoming,
)
from .clinic import DayEntry, clinics_for, day_list, mark, may_run
from .fitting import MAINTENANCE, Fit, fit_for
from .notices import remind_due
from .schedule import (
    HORIZON_DAYS,
    apply_session,
    close_day,
    closure_preview,
    extend,
    generate,
    reopen_day,
    retire_session,
    set_capacity,
)

__all__ = [
    "HORIZON_DAYS",
    "MAINTENANCE",
    "SERVICES",
    "STATUS_LABELS",
    "WEEKDAYS",
    "Booked",
    "Booking",
    "BookingRefused",
    "DayEntry",
    "Fit",
    "Refused",
    "account_patients",
    "apply_session",
    "book",
    "bookable_institutions",
    "bookable_services",
    "bookings",
    "cancel",
    "change",
    "close_day",
    "closure_preview",
    "clinics_for",
    "day_list",
    "extend",
    "fit_for",
    "generate",
    "mark",
    "may_run",
    "open_days",
    "open_slots",
    "release",
    "reopen_day",
    "remind_due",
    "retire_session",
    "set_capacity",
    "upcoming",
]
