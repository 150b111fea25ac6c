import copy

import pytest

from bot.care.defaults import DEFAULT_DICTIONARY
from bot.care.dictionary import Dictionary, build_dictionary


@pytest.fixture
def d() -> Dictionary:
    return build_dictionary(DEFAULT_DICTIONARY, version=1)


@pytest.fixture
def payload() -> dict:
    return copy.deepcopy(DEFAULT_DICTIONARY)
