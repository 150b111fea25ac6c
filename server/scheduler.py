"""``python -m server.scheduler`` — the RQ cron scheduler with the service's periodic jobs."""

from __future__ import annotations

import redis
from dotenv import load_dotenv
from rq.cron import CronScheduler

from bot.jobs import (
    appointments,
    complications,
    consultations,
    content,
    exports,
    follow_ups,
    housekeeping,
    lowcode,
    reminders,
    sweeper,
)

from .bootstrap import bootstrap


def build(conn: redis.Redis) -> CronScheduler:
    cron = CronScheduler(connection=conn)
    cron.register(housekeeping.heartbeat, queue_name="default", interval=60)
    cron.register(sweeper.requeue_stalled, queue_name="default", interval=30)
    cron.register(reminders.sweep_reminders, queue_name="default", interval=300)
    cron.register(follow_ups.sweep_follow_ups, queue_name="default", interval=300)
    cron.register(complications.alert_stale_complications, queue_name="default", interval=600)
    cron.register(consultations.remind_unconcluded, queue_name="default", interval=600)
    cron.register(consultations.sweep_stalled, queue_name="default", interval=300)
    cron.register(housekeeping.clean_media, queue_name="default", interval=86400)
    cron.register(exports.expire_identified_files, queue_name="default", interval=3600)
    cron.register(content.send_stage_articles, queue_name="default", interval=900)
    cron.register(appointments.remind_appointments, queue_name="default", interval=600)
    cron.register(appointments.extend_clinic_slots, queue_name="default", interval=3600)
    cron.register(lowcode.retry_due_pushes, queue_name="default", interval=300)
    cron.register(lowcode.push_monthly_indicators, queue_name="default", interval=3600)
    return cron


def main() -> None:
    load_dotenv()
    build(bootstrap().redis).start()


if __name__ == "__main__":
    main()
