"""Reading a clinician's consultation words (C5.1): the request's question and urgency said in
the first message, and the conclusion / advice / closing read before the dialogue."""

from __future__ import annotations

import pytest

from bot.services.consultations.chat_words import ADVICE, CLOSE, CONCLUSION, Words, read
from nlu.actions.consultation import question_in, urgent_in


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("请求会诊，12床穿刺点渗液两天了", "12床穿刺点渗液两天了"),
        ("紧急会诊：张三 PICC 回抽无血，冲管有阻力", "张三 PICC 回抽无血，冲管有阻力"),
        ("申请会诊 穿刺点红肿3天，是否需要拔管？", "穿刺点红肿3天，是否需要拔管？"),
        ("请求会诊", None),
        ("帮我给张三申请个加急会诊", None),
        ("申请会诊一下", None),
        ("/request_consultation", None),
    ],
)
def test_c5_1_the_question_said_with_the_request_is_taken(text, question):
    assert question_in(text, ["张三"]) == question


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("请求会诊，加急", True),
        ("紧急会诊：回抽无血", True),
        ("急！申请会诊", True),
        ("请求会诊，急性静脉炎", False),
        ("申请会诊，不急", False),
        ("请求会诊，患者刚从急诊转来", False),
    ],
)
def test_c5_1_urgency_is_read_from_the_request(text, urgent):
    assert urgent_in(text) is urgent


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("会诊结论：建议拔管，尖端送培养", Words(CONCLUSION, "建议拔管，尖端送培养", None, True)),
        ("12号会诊结论：继续观察", Words(CONCLUSION, "继续观察", 12, True)),
        ("第１２号会诊结论: 继续观察", Words(CONCLUSION, "继续观察", 12, True)),
        ("会诊意见：先做超声", Words(ADVICE, "先做超声", None, True)),
        ("意见：先做超声", Words(ADVICE, "先做超声", None, False)),
        ("会诊结论：", Words(CONCLUSION, "", None, True)),
        ("会诊结束", Words(CLOSE, "", None, True)),
        ("结束会诊。", Words(CLOSE, "", None, True)),
        ("可以结束了", Words(CLOSE, "", None, False)),
        ("12号会诊结束", Words(CLOSE, "", 12, True)),
        ("结论：未见异常", None),  # a report's conclusion, not a consultation's
        ("请求会诊，穿刺点渗液", None),
        ("我的会诊", None),
        ("会诊什么时候结束", None),
    ],
)
def test_c5_1_conclusion_advice_and_closing_words_are_read(text, words):
    assert read(text) == words
