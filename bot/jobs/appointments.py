"""Appointment jobs (P8.1): the reminder the day before a booking, and the slots of the coming
weeks generated from the clinics' weekly schedules (``clinic_sessions``) minus closures."""

from __future__ import annotations


def remind_appointments() -> str:
    """Scheduled every 10 minutes. (Issue 16: to be built.)"""
    return "not built yet"


def extend_clinic_slots() -> str:
    """Scheduled hourly. (Issue 16: to be built.)"""
    return "not built yet"
