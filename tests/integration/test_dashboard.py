"""统计看板 in the admin web (A6.1): the indicators of a period on hand-built data, counted by
hand; filters narrow them; a period without records says 无数据; bad query values are told,
never a 500; administrators only; every view audited; charts as PNG and SVG, cached in Redis
by their query and drawn again when a record is added."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest
import redis
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    Department,
    Institution,
    Patient,
    Removal,
    Staff,
    utcnow,
)
from bot.models.enums import CatheterState, StaffRole
from bot.services import auth, stats
from server import create_app
from tests.integration.test_staff_web import sign_in
from tests.support.web_clients import add_admin, admin_client

pytestmark = [pytest.mark.db, pytest.mark.redis]

MARCH = "start=2026-03-01&to=2026-03-31"  # a closed month: nothing is capped at today


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def build_march(session) -> dict:
    """王管理 (add_admin) and March 2026, counted by hand (catheter-days: the placement day
    counts, the removal day does not):

    a PICC 肿瘤科, by 李护士, 2 → removed 12 March, unplanned (phlebitis of 8 March): 10 days
    b PICC 血液科, by 张护士, 10 March → in place until 10 April: 22 days in March
    c PORT 肿瘤科, by 李护士, 20 March → in place until 10 April: 12 days in March
    d CVC  肿瘤科, 20 February → removed 5 March, end of therapy (dwell 13): 4 days in March
    e MIDLINE at 市第二人民医院, 15 → removed 25 March, end of therapy: 10 days
    """
    admin = add_admin(session)
    home = admin.institution
    other = Institution(code="CITY2", name="市第二人民医院")
    oncology = Department(institution=home, code="ONC", name="肿瘤科")
    haematology = Department(institution=home, code="HEM", name="血液科")
    li = Staff(institution=home, staff_no="N001", name="李护士", role=StaffRole.NURSE)
    zhang = Staff(institution=home, staff_no="N002", name="张护士", role=StaffRole.NURSE)
    nurse = Staff(
        institution=home,
        staff_no="N009",
        name="赵护士",
        role=StaffRole.NURSE,
        password_hash=auth.hash_password("Nurse1234"),
        password_changed_at=utcnow(),
    )
    patient = Patient(name="钱晓梅")
    session.add_all([other, oncology, haematology, li, zhang, nurse, patient])
    session.flush()

    def catheter(device, placed, removed, *, dept=None, by=None, where=home):
        c = Catheter(
            patient_id=patient.id,
            device_type=device,
            placed_at=_at(placed),
            institution_id=where.id,
            department_id=dept.id if dept else None,
            inserter_id=by.id if by else None,
            state=CatheterState.REMOVED if removed else CatheterState.IN_PLACE,
            removed_on=removed,
        )
        session.add(c)
        session.flush()
        return c

    a = catheter("PICC", date(2026, 3, 2), date(2026, 3, 12), dept=oncology, by=li)
    b = catheter("PICC", date(2026, 3, 10), date(2026, 4, 10), dept=haematology, by=zhang)
    c = catheter("PORT", date(2026, 3, 20), date(2026, 4, 10), dept=oncology, by=li)
    d = catheter("CVC", date(2026, 2, 20), date(2026, 3, 5), dept=oncology)
    e = catheter("MIDLINE", date(2026, 3, 15), date(2026, 3, 25), where=other)
    phlebitis = Complication(
        catheter_id=a.id, patient_id=patient.id, type="PHLEBITIS", grade=2,
        onset_on=date(2026, 3, 8),
    )  # fmt: skip
    session.add(phlebitis)
    session.flush()

    def removal(cat, reason, dwell, unplanned=False, complication=None):
        return Removal(
            catheter_id=cat.id, removed_on=cat.removed_on, reason=reason, unplanned=unplanned,
            complication_id=complication, dwell_days=dwell,
        )  # fmt: skip

    session.add_all(
        [
            removal(a, "COMPLICATION", 10, True, phlebitis.id),
            removal(b, "END_OF_THERAPY", 31),
            removal(c, "END_OF_THERAPY", 21),
            removal(d, "END_OF_THERAPY", 13),
            removal(e, "END_OF_THERAPY", 10),
        ]
    )
    session.commit()
    return {
        "admin_id": admin.id,
        "oncology": oncology.id,
        "other": other.id,
        "zhang": zhang.id,
        "patient": patient.id,
    }


@pytest.fixture
def ward(settings, engine, redis_conn, session):
    built = build_march(session)
    app = create_app(settings)
    return {**built, "app": app, "admin": admin_client(app)}


def cards(page: str) -> dict[str, dict[str, str]]:
    """Indicator cards by code: the value shown, numerator, denominator, definition."""
    out = {}
    for block in re.split(r'<div class="card h-100 indicator"', page)[1:]:
        code = re.search(r'data-code="([^"]+)"', block).group(1)

        def field(cls: str, text: str = block) -> str | None:
            found = re.search(rf'class="{cls}">([^<]*)<', text)
            return html.unescape(found.group(1)).strip() if found else None

        out[code] = {
            "value": field("value"),
            "numerator": field("numerator"),
            "denominator": field("denominator"),
            "definition": field("definition"),
        }
    return out


def table_rows(page: str, code: str) -> list[list[str]]:
    section = re.search(rf'id="table-{code}">(.*?)</section>', page, re.S)
    assert section, f"no table {code} on the page"
    body = re.search(r"<tbody>(.*?)</tbody>", section.group(1), re.S).group(1)
    return [
        [html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def get(ward, query: str) -> str:
    r = ward["admin"].get(f"/admin/dashboard/?{query}")
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True)


@pytest.mark.req("A6.1")
def test_a6_1_the_dashboard_shows_the_hand_computed_indicators_of_the_period(ward):
    page = get(ward, MARCH)
    shown = cards(page)
    assert shown["placements"]["value"] == "4"  # a, b, c, e (d was placed in February)
    assert shown["removals"]["value"] == "3"  # a, d, e (b and c in April)
    assert shown["catheter_days"]["value"] == "58"  # 10 + 22 + 12 + 4 + 10
    assert shown["complications"]["value"] == "1"
    # PICC: 1 unplanned removal over 10 + 22 PICC days = 31.25‰; CVC: none over 4 days
    assert shown["unplanned_removal_picc"] == {
        **shown["unplanned_removal_picc"],
        "value": "31.25‰",
        "numerator": "1",
        "denominator": "32",
    }
    assert shown["unplanned_removal_cvc"]["value"] == "0‰"
    assert shown["unplanned_removal_cvc"]["denominator"] == "4"
    # 1 complication over 58 catheter-days = 17.24‰
    assert shown["complication_rate"]["value"] == "17.24‰"
    assert (shown["complication_rate"]["numerator"], shown["complication_rate"]["denominator"]) == (
        "1",
        "58",
    )
    # the definition is written beside each indicator
    assert "分母：同期PICC导管日数" in shown["unplanned_removal_picc"]["definition"]
    assert all(card["definition"] for card in shown.values())
    # the tables beside the charts: March's row of the trend, the device mix, complications
    assert table_rows(page, "monthly") == [
        ["2026-03", "4", "0", "0.0", "3", "1", "1", "58", "17.24"]
    ]
    mix = {row[0]: row[1:] for row in table_rows(page, "device_mix")}
    assert mix["PICC"][:1] == ["2"] and mix["输液港"][:1] == ["1"] and mix["CVC"][:1] == ["0"]
    [phlebitis] = table_rows(page, "complications_by_type")
    assert phlebitis[1:3] == ["2级", "1"]
    # and the charts and exports of the same query
    assert 'src="/admin/dashboard/chart/monthly.png?start=2026-03-01&amp;end=2026-04-01"' in page
    assert (
        'href="/admin/exports/new?kind=table:device_mix&amp;start=2026-03-01&amp;end=2026-04-01'
        '&amp;format=xlsx"' in page
    )


@pytest.mark.req("A6.1")
@pytest.mark.parametrize(
    ("narrowed", "placements", "catheter_days"),
    [
        ("device_type=PICC", "2", "32"),  # a, b
        ("department_id={oncology}", "2", "26"),  # a, c placed; d's 4 days count
        ("institution_id={other}", "1", "10"),  # e
        ("inserter_id={zhang}", "1", "22"),  # b
    ],
)
def test_a6_1_filters_narrow_the_indicators(ward, narrowed, placements, catheter_days):
    query = f"{MARCH}&" + narrowed.format(**ward)
    shown = cards(get(ward, query))
    assert shown["placements"]["value"] == placements
    assert shown["catheter_days"]["value"] == catheter_days


@pytest.mark.req("A6.1")
def test_a6_1_the_breakdown_table_follows_the_group_by(ward):
    page = get(ward, f"{MARCH}&group_by=department")
    rows = {row[0]: row[1] for row in table_rows(page, "breakdown")}  # → placements
    assert rows == {"肿瘤科": "2", "血液科": "1", "未记录": "1"}
    assert 'name="group_by"' in page and '<option value="department" selected>' in page


@pytest.mark.req("A6.1")
def test_a6_1_a_period_without_records_shows_no_data_and_zeros(ward):
    page = get(ward, "start=2025-01-01&to=2025-01-31")
    shown = cards(page)
    assert shown["placements"]["value"] == "0"
    for rate in ("complication_rate", "unplanned_removal_picc", "clabsi_rate"):
        assert shown[rate]["value"] == "无数据"
        assert shown[rate]["denominator"] == "0"
    assert table_rows(page, "monthly") == [["2025-01", "0", "0", "—", "0", "0", "0", "0", "—"]]
    assert all(row[1:] == ["0", "0", "0"] for row in table_rows(page, "device_mix"))
    assert table_rows(page, "complications_by_type") == [["无数据"]]
    svg = ward["admin"].get("/admin/dashboard/chart/monthly.svg?start=2025-01-01&end=2025-02-01")
    assert svg.status_code == 200 and "<!-- 无数据 -->" in svg.get_data(as_text=True)


@pytest.mark.req("A6.1")
def test_a6_1_by_default_the_dashboard_shows_this_month_up_to_today(ward, settings):
    today = local_date(utcnow(), settings.timezone)
    page = get(ward, "")
    assert f'name="start" value="{today.replace(day=1).isoformat()}"' in page
    assert f'name="to" value="{today.isoformat()}"' in page
    assert re.search(r'class="btn btn-sm mr-1 btn-primary"\s+data-period="this_month"', page)
    last_month = get(ward, "period=last_month")
    first = today.replace(day=1)
    previous = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    assert f'name="start" value="{previous.isoformat()}"' in last_month


@pytest.mark.req("A6.1")
@pytest.mark.parametrize(
    ("query", "told"),
    [
        ("start=2026-02-30&to=2026-03-31", "开始日期“2026-02-30”不是有效日期"),
        ("start=yesterday", "开始日期“yesterday”不是有效日期"),
        ("start=2026-03-31&to=2026-03-01", "结束日期早于开始日期"),
        ("start=2019-01-01&to=2026-03-31", "统计区间不能超过5年"),
        ("period=fortnight", "快捷时段“fortnight”无效"),
        # the ends of the calendar would overflow the date arithmetic (a 500 before)
        ("start=2026-03-01&to=9999-12-31", "结束日期“9999-12-31”超出可统计的年份（2000–2100年）"),
        ("start=0001-01-01", "开始日期“0001-01-01”超出可统计的年份（2000–2100年）"),
        ("start=9999-01-01", "开始日期“9999-01-01”超出可统计的年份（2000–2100年）"),
        ("start=1999-12-31&to=2000-01-31", "开始日期“1999-12-31”超出可统计的年份"),
        ("start=2100-12-01&end=2101-01-02", "结束日期“2101-01-02”超出可统计的年份"),
    ],
)
def test_a6_1_a_bad_period_is_told_and_the_default_period_shown(ward, settings, query, told):
    page = get(ward, query)
    today = local_date(utcnow(), settings.timezone)
    assert told in html.unescape(page)
    assert 'id="dashboard-errors"' in page
    assert f'name="start" value="{today.replace(day=1).isoformat()}"' in page
    chart = ward["admin"].get(f"/admin/dashboard/chart/monthly.png?{query}")
    assert chart.status_code == 200 and chart.mimetype == "image/png"


@pytest.mark.req("A6.1")
def test_a6_1_an_unknown_filter_value_is_ignored_and_named(ward):
    page = html.unescape(get(ward, f"{MARCH}&device_type=XYZ&department_id=abc&group_by=bed"))
    assert "导管类型“XYZ”不存在，已忽略该条件" in page
    assert "科室“abc”不存在，已忽略该条件" in page
    assert "分组方式“bed”无效，已忽略" in page
    assert cards(page)["placements"]["value"] == "4"  # March, unfiltered


@pytest.mark.req("A6.1")
def test_a6_1_only_administrators_open_the_dashboard(ward):
    app = ward["app"]
    nurse = app.test_client()
    assert sign_in(nurse, "N009", "Nurse1234").status_code == 302
    for url in ("/admin/dashboard/", "/admin/dashboard/chart/device_mix.png"):
        assert nurse.get(url).status_code == 403
        anonymous = app.test_client().get(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


@pytest.mark.req("A6.1", "X.1")
def test_a6_1_every_view_of_the_dashboard_is_audited_with_its_filters(ward, session_factory):
    get(ward, f"{MARCH}&device_type=PICC")
    get(ward, "period=last_month")
    with session_factory() as s:
        rows = s.scalars(
            select(AuditLog).where(AuditLog.object_type == "dashboard").order_by(AuditLog.id)
        ).all()
    assert len(rows) == 2
    first = rows[0]
    assert (first.action, first.actor_id, first.context) == ("read", ward["admin_id"], "dashboard")
    assert first.detail["filters"] == {
        "start": "2026-03-01",
        "end": "2026-04-01",
        "device_type": "PICC",
    }


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = stats.compute

    def compute(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(stats, "compute", compute)
    return calls


@pytest.mark.req("A6.1")
def test_a6_1_charts_are_png_and_svg_cached_by_their_query(ward, redis_conn, counted, session):
    admin, query = ward["admin"], "start=2026-03-01&end=2026-04-01"
    png = admin.get(f"/admin/dashboard/chart/device_mix.png?{query}")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    assert "private" in png.headers["Cache-Control"] and png.headers["ETag"]
    assert len(counted) == 1
    assert redis_conn.keys("dashboard:chart:*")
    again = admin.get(f"/admin/dashboard/chart/device_mix.png?{query}")
    assert again.data == png.data and len(counted) == 1  # from the cache
    unchanged = admin.get(
        f"/admin/dashboard/chart/device_mix.png?{query}",
        headers={"If-None-Match": png.headers["ETag"]},
    )
    assert unchanged.status_code == 304
    svg = admin.get(f"/admin/dashboard/chart/device_mix.svg?{query}")
    assert svg.mimetype == "image/svg+xml" and "<!-- 导管类型构成 -->" in svg.get_data(True)
    assert len(counted) == 1  # the period's tables were kept too
    # another query is another chart
    admin.get(f"/admin/dashboard/chart/device_mix.png?{query}&device_type=PICC")
    assert len(counted) == 2 and counted[-1].device_type == "PICC"
    # a new record makes a new key: the chart is counted again
    session.add(
        Catheter(
            patient_id=ward["patient"], device_type="PICC", placed_at=_at(date(2026, 3, 30)),
            state=CatheterState.IN_PLACE,
        )
    )  # fmt: skip
    session.commit()
    redrawn = admin.get(f"/admin/dashboard/chart/device_mix.svg?{query}")
    assert len(counted) == 3 and redrawn.data != svg.data


@pytest.mark.req("A6.1")
def test_a6_1_the_page_keeps_its_tables_so_its_charts_do_not_count_again(ward, counted):
    get(ward, MARCH)
    for chart in ("monthly", "complications_by_type", "device_mix"):
        r = ward["admin"].get(f"/admin/dashboard/chart/{chart}.png?start=2026-03-01&end=2026-04-01")
        assert r.status_code == 200
    assert len(counted) == 1


@pytest.mark.req("A6.1")
def test_a6_1_with_redis_down_charts_are_drawn_without_the_cache(ward, counted):
    app = ward["app"]
    app.extensions["vam"].__dict__["redis"] = redis.Redis(
        host="127.0.0.1", port=9, socket_connect_timeout=0.5
    )
    for _ in range(2):
        r = ward["admin"].get("/admin/dashboard/chart/monthly.svg?start=2026-03-01&end=2026-04-01")
        assert r.status_code == 200 and "<!-- 逐月趋势 -->" in r.get_data(True)
    assert len(counted) == 2
    assert get(ward, MARCH)  # the page too


def test_an_unknown_chart_is_404(ward):
    assert ward["admin"].get("/admin/dashboard/chart/pie.png").status_code == 404


def test_the_admin_home_groups_every_page_under_its_menu(ward):
    page = ward["admin"].get("/admin/").get_data(as_text=True)
    sections = re.search(r'id="admin-sections">(.*?)<form', page, re.S).group(1)
    numbers = re.search(r"统计与导出</h5>(.*?)</ul>", sections, re.S).group(1)
    assert re.findall(r'<a href="[^"]+">([^<]+)</a>', numbers) == [
        "统计看板",
        "数据导出",
        "低代码平台",
    ]
    for name in ("临床字典", "患者档案", "并发症看板", "门诊排班", "异常消息"):
        assert f">{name}</a>" in sections
