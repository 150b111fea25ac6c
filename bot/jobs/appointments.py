"""Appointment jobs (P8.1): the reminder the day before a booking, and the slots of the coming
weeks generated from the clinics' weekly schedules (``clinic_sessions``) minus closures."""

from __future__ import annotations

from bot.container import current
from bot.jobs.queues import enqueue_sends
from bot.models import utcnow
from bot.services import appointments
from bot.services.reminders import WeChatFallback


def remind_appointments() -> str:
    """Scheduled every 10 minutes: tomorrow's bookings not yet reminded, outside the patient's
    quiet hours, each once (claimed in the database, so overlapping runs send once)."""
    ctx = current()
    settings = ctx.settings
    fallback = WeChatFallback(
        settings.wechat_reminder_message,
        settings.wechat_reminder_template_id,
        settings.public_base_url,
    )
    with ctx.uow() as uow:
        outbox = appointments.remind_due(uow.session, utcnow(), settings.timezone, fallback)
        uow.commit()
    enqueue_sends(ctx.redis, outbox)
    return f"queued {len(outbox)}"


def extend_clinic_slots() -> str:
    """Scheduled hourly: the missing slots of the next ``HORIZON_DAYS`` days."""
    ctx = current()
    with ctx.uow() as uow:
        made = appointments.extend(uow.session, ctx.settings.timezone, utcnow())
        uow.commit()
    return f"created {made} slots"
