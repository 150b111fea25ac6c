"""Reading values out of what people type in forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nlu.actions import follow_up, parsing
from nlu.actions.complication import type_code
from nlu.actions.maintenance import parse_items, parse_site

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.req("C3.2")
@pytest.mark.parametrize(
    ("text", "cm"),
    [
        ("3", Decimal("3.0")),
        ("外露3.5厘米", Decimal("3.5")),
        ("３５ｍｍ", Decimal("3.5")),
        ("35毫米", Decimal("3.5")),
        ("两厘米", Decimal("2.0")),
        ("三点五", Decimal("3.5")),
        ("二十六", Decimal("26.0")),
        ("臂围 27.3 cm", Decimal("27.3")),
        ("没量", None),
        ("", None),
    ],
)
def test_lengths(text, cm):
    assert parsing.length_cm(text) == cm


@pytest.mark.req("C3.2", "C3.3")
@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("今天", TODAY),
        ("昨天下午", date(2026, 11, 24)),
        ("大前天", date(2026, 11, 22)),
        ("三天前", date(2026, 11, 22)),
        ("5天后", date(2026, 11, 30)),
        ("下周三", date(2026, 12, 2)),
        ("周五", date(2026, 11, 27)),
        ("周一", date(2026, 11, 30)),  # a bare weekday already past means the next one
        ("上周一", date(2026, 11, 16)),
        ("11月20日", date(2026, 11, 20)),
        ("11-20", date(2026, 11, 20)),
        ("2026年11月3号", date(2026, 11, 3)),
        ("2026/11/03", date(2026, 11, 3)),
        ("３号", date(2026, 11, 3)),
        ("下个月3号", date(2026, 12, 3)),
        ("2月30日", None),
        ("随便", None),
    ],
)
def test_dates(text, day):
    assert parsing.relative_date(text, TODAY) == day


@pytest.mark.parametrize(
    ("text", "intent", "answer"),
    [
        ("确认", None, True),
        ("好的！", None, True),
        ("OK", None, True),
        ("不对", None, False),
        ("信息有误", None, False),
        ("要修改", None, False),
        ("嗯……我再想想", None, None),
        ("没问题的", "affirm", True),
    ],
)
def test_yes_no(text, intent, answer):
    assert parsing.yes_no(text, intent) is answer


def test_choices_are_one_based_and_bounded():
    assert parsing.choice("2", 3) == 1
    assert parsing.choice("第三个", 3) == 2
    assert parsing.choice("4", 3) is None
    assert parsing.choice("0", 3) is None
    assert parsing.choice("王丽娟", 3) is None


@pytest.mark.req("C3.2")
def test_maintenance_items_and_site():
    assert parse_items("冲封管+换膜", "PICC") == ["FLUSH_LOCK", "DRESSING"]
    assert parse_items("都做了", "PORT") == ["FLUSH_LOCK", "NEEDLE"]
    assert parse_items("换了肝素帽", "PICC") == ["CONNECTOR"]
    assert parse_items("嗯", "PICC") == []
    assert parse_site("正常") == []
    assert parse_site("穿刺点无红肿") == []
    assert parse_site("有点发红，还有渗液") == ["REDNESS", "EXUDATE"]
    assert parse_site("不知道") is None


@pytest.mark.req("C3.4")
def test_complication_types_from_words(d):
    dictionary = d
    assert type_code("PHLEBITIS", dictionary) == "PHLEBITIS"
    assert type_code("OCCLUSION", dictionary) == "OCCLUSION_PARTIAL"  # the NLU's coarse code
    assert type_code("推不动，完全堵了", dictionary) == "OCCLUSION_COMPLETE"
    assert type_code("回抽不畅", dictionary) == "OCCLUSION_PARTIAL"
    assert type_code("超声提示血栓", dictionary) == "THROMBOSIS"
    assert type_code("导管相关血流感染", dictionary) == "CRBSI"
    assert type_code("不清楚", dictionary) is None


@pytest.mark.req("C3.3", "A7.4")
@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("下次维护在7天后", {"next_due": "2026-12-02"}),
        ("下次换药定在12月5日", {"next_due": "2026-12-05"}),
        ("每7天随访", {"cycle_days": 7}),
        ("3天一次", {"cycle_days": 3}),
        ("随访周期改为每十四天", {"cycle_days": 14}),
        ("降为稳定，每14天随访", {"tier": "C", "cycle_days": 14}),
        ("分级改为B级", {"tier": "B"}),
        ("高危", {"tier": "A"}),
        ("C级", {"tier": "C"}),
        ("备注：糖尿病，注意感染", {"notes": "糖尿病，注意感染"}),
        ("嗯", {}),
        # review findings: beds are not dates, "常规维护" is not a tier, January is next year
        ("3号床改为高危", {"tier": "A"}),
        ("25床下次维护后天", {"next_due": "2026-11-27"}),
        ("常规维护下周一", {"next_due": "2026-11-30"}),
        ("下次维护1月5日", {"next_due": "2027-01-05"}),
        ("下次维护2026年1月5日", {"next_due": "2026-01-05"}),  # typed year: refused later
        ("下次维护改到昨天", {"next_due": "2026-11-24"}),  # refused later, not moved a year
    ],
)
def test_follow_up_plan_read_from_what_the_nurse_typed(text, plan):
    tiers = {"A": "高危", "B": "常规", "C": "稳定"}
    assert follow_up.parse_plan(text, TODAY, tiers) == plan
