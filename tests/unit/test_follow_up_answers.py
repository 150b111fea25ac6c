"""Reading a patient's reply to a follow-up check-in (A7.4): numbered answers, all-clear
phrases, colloquial words with typos and negations, refusals, and other requests."""

from __future__ import annotations

import pytest

from bot.care.defaults import FOLLOW_UP_QUESTIONS as QUESTIONS
from bot.services.follow_ups.answers import flags_of, level_of, read


@pytest.mark.req("A7.4")
@pytest.mark.parametrize(
    ("text", "answers", "level"),
    [
        ("1没有 2肿了", {"SITE": "NO", "ARM": "SWOLLEN"}, "URGENT"),
        (
            "１没有，２没有，３没有，４没有",
            {"SITE": "NO", "ARM": "NO", "FEVER": "NO", "DRESSING": "NO"},
            "OK",
        ),
        ("胳膊有点肿", {"ARM": "SWOLLEN"}, "URGENT"),
        ("手臂有点种了", {"ARM": "SWOLLEN"}, "URGENT"),
        ("针眼那里红了", {"SITE": "RED"}, "CONCERN"),
        ("针眼有点渗血", {"SITE": "OOZE"}, "CONCERN"),
        ("穿刺点流浓了", {"SITE": "PUS"}, "URGENT"),
        ("昨晚发烧还打寒战", {"FEVER": "CHILLS"}, "URGENT"),
        ("有点法烧", {"FEVER": "FEVER"}, "CONCERN"),
        ("贴膜翘起来了", {"DRESSING": "LOOSE"}, "CONCERN"),
        ("贴模撬起来了", {"DRESSING": "LOOSE"}, "CONCERN"),
        ("敷料一直出血", {"DRESSING": "BLEEDING"}, "URGENT"),
        ("没有发烧，手臂不肿", {"FEVER": "NO", "ARM": "NO"}, "OK"),
    ],
)
def test_a7_4_answers_are_read_from_numbers_and_colloquial_words(text, answers, level):
    found = read(QUESTIONS, text)
    assert found.answers == answers and not found.other
    assert level_of(QUESTIONS, found.answers) == level


@pytest.mark.req("A7.4")
@pytest.mark.parametrize(
    "text", ["都好", "都没有", "挺好的", "没事", "没有", "一切正常", "都好，谢谢"]
)
def test_a7_4_all_clear_phrases(text):
    found = read(QUESTIONS, text)
    assert found.all_clear and found.answers == {}


@pytest.mark.req("A7.4")
def test_a7_4_all_clear_with_one_complaint_keeps_the_complaint():
    found = read(QUESTIONS, "其他都好，就是贴膜翘了")
    assert found.all_clear and found.answers == {"DRESSING": "LOOSE"}
    assert flags_of(QUESTIONS, found.answers) == ["DRESSING_LOOSE"]


@pytest.mark.req("A7.4")
@pytest.mark.parametrize("text", ["算了", "不想回答", "别问了，烦"])
def test_a7_4_refusals(text):
    assert read(QUESTIONS, text).declined


@pytest.mark.req("A7.4")
@pytest.mark.parametrize("text", ["我要预约维护", "我的报告", "门诊几点开门？"])
def test_a7_4_other_requests_are_not_answers(text):
    found = read(QUESTIONS, text)
    assert found.other and not found.understood


@pytest.mark.req("A7.4")
@pytest.mark.parametrize("text", ["嗯嗯", "那个有一点点那啥"])
def test_a7_4_unclear_replies_are_neither_answers_nor_other_requests(text):
    found = read(QUESTIONS, text)
    assert not found.understood and not found.other
