"""docs/indicators.md says what the dashboard says: every indicator's code, name and
definition from bot/services/stats/definitions.py, word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.stats.definitions import CODES, DEFINITIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


@pytest.mark.req("A6.1")
def test_a6_1_every_indicator_is_defined_in_the_docs_as_in_the_code():
    text = DOC.read_text(encoding="utf-8")
    missing = [
        code
        for code, d in DEFINITIONS.items()
        if f"`{code}`" not in text or d.text not in text or d.label not in text
    ]
    assert missing == []


@pytest.mark.req("A6.1")
def test_a6_1_the_national_indicators_are_there_with_their_source():
    assert {"clabsi_rate", "unplanned_removal_picc", "unplanned_removal_cvc"} <= set(CODES)
    assert "NHSN" in DEFINITIONS["clabsi_rate"].source
    assert "国家护理质量数据平台" in DEFINITIONS["unplanned_removal_cvc"].source
    # the NHSN day-3 rule and the central lines are written into the definition people read
    assert "超过2个日历日" in DEFINITIONS["clabsi_rate"].text
    assert "不含中等长度导管" in DEFINITIONS["clabsi_rate"].text
    # NHSN: the line in place on the event date or the day before
    assert "拔管次日发生仍计入" in DEFINITIONS["clabsi_rate"].text
    # a brought-in catheter's days count from its registration here (the lead's decision)
    assert "院外带入的导管自其置管日与在本系统登记日" in DEFINITIONS["catheter_days"].text
