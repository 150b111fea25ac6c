"""Reading patient names from a clinician's text (the database part is in test_turns)."""

from __future__ import annotations

import pytest

from bot.services import names

pytestmark = pytest.mark.req("C2.2")


def test_every_two_to_four_character_stretch_is_a_candidate_with_where_it_starts():
    found = names._candidates("查一下张金根的维护记录")
    assert found["张金根"] == 3 and found["张金"] == 3 and "查一下张金根" not in found
    assert names._candidates("12床 OK") == {}


@pytest.mark.parametrize("text", ["张金根", "张金根？", " 张金根。", "【张金根】"])
def test_a_message_of_only_a_name_is_recognised(text):
    assert names.only_a_name(text, ["张金根"]) == "张金根"


@pytest.mark.parametrize("text", ["查张金根", "张金根的记录", "张金"])
def test_anything_more_or_less_than_the_name_is_not_only_a_name(text):
    assert names.only_a_name(text, ["张金根"]) is None


def test_jieba_guesses_names_the_database_does_not_know():
    assert names.guessed_names("帮我看看王小明的导管") == ["王小明"]
    assert names.guessed_names("今日待维护") == []
