"""The consultation roster's duty times and the group chat's id and card limits (C5.1)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.models import ConsultantDuty
from bot.services.consultations import chat, roster

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hhmm: str) -> datetime:
    """2026-12-07 is a Monday (ISO 1): ``day`` 1–7 picks the weekday of that week."""
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 12, 6 + day, h, m, tzinfo=TZ)


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("weekdays", "start", "end", "when", "covered"),
    [
        ([], "00:00", "24:00", at(7, "23:59"), True),  # every day, all day
        ([1, 2, 3, 4, 5], "08:00", "18:00", at(2, "08:00"), True),
        ([1, 2, 3, 4, 5], "08:00", "18:00", at(2, "18:00"), False),  # the end is not in it
        ([1, 2, 3, 4, 5], "08:00", "18:00", at(6, "10:00"), False),  # Saturday
        ([5], "18:00", "08:00", at(5, "23:00"), True),  # Friday night
        ([5], "18:00", "08:00", at(6, "07:59"), True),  # … into Saturday morning
        ([5], "18:00", "08:00", at(5, "07:00"), False),  # Friday morning is Thursday's night
        ([1], "18:00", "08:00", at(1, "07:00"), False),  # Monday morning: Sunday's night
        ([7], "18:00", "08:00", at(1, "07:00"), True),
    ],
)
def test_c5_1_a_duty_covers_its_weekdays_and_times_over_midnight_too(
    weekdays, start, end, when, covered
):
    duty = ConsultantDuty(staff_id=1, weekdays=weekdays, starts_at=start, ends_at=end)
    assert roster.covers(duty, when) is covered


@pytest.mark.req("C5.1")
def test_c5_1_the_chat_id_is_stable_short_alphanumeric_and_keyed():
    one = chat.chat_id_for(123456789, "secret")
    assert one == chat.chat_id_for(123456789, "secret")
    assert one != chat.chat_id_for(123456789, "other secret")
    assert one.isalnum() and len(one) <= 32
    assert len(chat.chat_id_for(10**17, "secret")) <= 32


@pytest.mark.req("C5.1")
def test_c5_1_card_text_is_cut_to_wechat_works_byte_limit():
    cut = chat._cut("会" * 400, chat.CARD_TEXT_BYTES)
    assert len(cut.encode()) <= chat.CARD_TEXT_BYTES and cut.endswith("…")
    assert chat._cut("短", 10) == "短"
    assert chat._cut("会诊", 2) == "" and chat._cut("会诊问题", 4) == "…"
