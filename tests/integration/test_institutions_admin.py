"""医疗机构 in the admin web (A3.1): create and edit (coordinates typed, looked up from the
address by the geocoder simulator, or missing with a warning), every change audited with
what changed, and the CSV/XLSX import — a per-row report, nothing saved until confirmed."""

from __future__ import annotations

import html
import io
import re
from dataclasses import replace

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.models import AuditLog, Institution
from bot.services import directory
from devtools.lbs_sim import DEV_KEY, DEV_SECRET_KEY, LbsState, create_lbs_sim_app
from server import create_app
from tests.integration.test_applications_web import signed_in_admin
from tests.integration.test_staff_web import csrf, sign_in
from tests.support.servers import serve

pytestmark = [pytest.mark.db, pytest.mark.redis]

FORM = {
    "name": "西湖区社区卫生服务中心",
    "code": "XIHU_CHC",
    "level": "一级甲等",
    "address": "浙江省杭州市西湖区学院路77号",
    "city": "杭州市",
    "district": "西湖区",
    "device_types": ["PICC", "CVC"],
    "services": ["PICC_MAINT"],
    "opening_hours": "周一至周五 08:00-17:00",
    "phone": "0571-88000000",
    "active": "y",
}


@pytest.fixture
def lbs_url():
    with serve(create_lbs_sim_app(LbsState())) as url:
        yield url


def admin_of(settings, session, **changes):
    return signed_in_admin(create_app(replace(settings, **changes)), session)


def create(admin, **changes):
    token = csrf(admin.get("/admin/institutions/new/").get_data(as_text=True))
    data = {"csrf_token": token, **FORM, **changes}
    return admin.post("/admin/institutions/new/", data=data, follow_redirects=True)


def saved(session_factory, code="XIHU_CHC"):
    with session_factory() as s:
        return s.scalars(select(Institution).where(Institution.code == code)).one_or_none()


def audits(session_factory, action=None):
    with session_factory() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.object_type == "institution")).all()
        return [a for a in rows if action is None or a.action == action]


@pytest.mark.req("A3.1")
def test_a3_1_typed_coordinates_are_saved_audited_and_listed_as_nearby(
    settings, engine, redis_conn, session, session_factory
):
    admin = admin_of(settings, session)
    r = create(admin, latitude="30.2790", longitude="120.1330")
    assert r.status_code == 200
    inst = saved(session_factory)
    assert (inst.latitude, inst.longitude, inst.coordinates_source) == (30.279, 120.133, "manual")
    assert inst.device_types == ["PICC", "CVC"] and inst.services == ["PICC_MAINT"]
    [entry] = audits(session_factory, "create")
    assert entry.object_id == str(inst.id) and entry.detail["changes"]["name"][1] == FORM["name"]
    assert entry.detail["changes"]["latitude"] == [None, 30.279]
    with session_factory() as s:
        assert [p.name for p in directory.nearby(s, 30.28, 120.13, device_types=["PICC"])] == [
            FORM["name"]
        ]
    listing = admin.get("/admin/institutions/").get_data(as_text=True)
    assert FORM["name"] in listing and "30.2790, 120.1330（手动）" in listing
    assert 'href="/admin/institutions/import/"' in listing


@pytest.mark.req("A3.1")
def test_a3_1_an_edit_is_audited_with_what_changed(
    settings, engine, redis_conn, session, session_factory
):
    admin = admin_of(settings, session)
    create(admin, latitude="30.2790", longitude="120.1330")
    inst = saved(session_factory)
    url = f"/admin/institutions/edit/?id={inst.id}"
    form = admin.get(url).get_data(as_text=True)
    ticked = re.findall(
        r'<input checked id="[^"]+" name="(\w+)" type="checkbox" value="(\w+)"', form
    )
    assert ticked == [("device_types", "PICC"), ("device_types", "CVC"), ("services", "PICC_MAINT")]
    token = csrf(form)
    data = {"csrf_token": token, **FORM, "latitude": "30.2790", "longitude": "120.1330"}
    data |= {"phone": "0571-88111111", "device_types": ["PICC", "CVC", "PORT"]}
    assert admin.post(url, data=data).status_code == 302
    [entry] = audits(session_factory, "update")
    assert entry.detail["changes"] == {
        "phone": ["0571-88000000", "0571-88111111"],
        "device_types": [["PICC", "CVC"], ["PICC", "CVC", "PORT"]],
    }
    assert saved(session_factory).coordinates_source == "manual"  # untouched coordinates


@pytest.mark.req("A3.1")
def test_a3_1_an_address_without_coordinates_is_geocoded_by_the_simulator(
    settings, engine, redis_conn, session, session_factory, lbs_url
):
    admin = admin_of(
        settings, session, lbs_api_base=lbs_url, lbs_key=DEV_KEY, lbs_secret_key=DEV_SECRET_KEY
    )
    page = html.unescape(create(admin).get_data(as_text=True))
    inst = saved(session_factory)
    assert (inst.latitude, inst.longitude, inst.coordinates_source) == (30.279, 120.133, "geocoder")
    assert "已按地址解析" in page
    [entry] = audits(session_factory, "create")
    assert entry.detail["changes"]["coordinates_source"] == [None, "geocoder"]


@pytest.mark.req("A3.1")
def test_a3_1_without_coordinates_it_is_saved_with_a_warning_and_not_nearby(
    settings, engine, redis_conn, session, session_factory, lbs_url
):
    admin = admin_of(settings, session)  # no geocoder configured
    page = create(admin).get_data(as_text=True)
    inst = saved(session_factory)
    assert inst is not None and inst.latitude is None and inst.coordinates_source is None
    assert "未配置地图服务" in page and "不会出现在患者的附近机构中" in page
    with session_factory() as s:
        assert directory.nearby(s, 30.28, 120.13) == []
    # an address the geocoder does not know: saved too, with its reason
    geo_settings = replace(
        settings, lbs_api_base=lbs_url, lbs_key=DEV_KEY, lbs_secret_key=DEV_SECRET_KEY
    )
    geo = create_app(geo_settings).test_client()
    sign_in(geo, "A001", "Admin1234")  # the administrator admin_of made
    page = create(geo, code="UNKNOWN", address="火星基地1号").get_data(as_text=True)
    assert saved(session_factory, "UNKNOWN") is not None
    assert "未能解析该地址" in page and "不会出现在患者的附近机构中" in page
    listing = admin.get("/admin/institutions/").get_data(as_text=True)
    assert "无坐标（不在附近机构中）" in listing


@pytest.mark.req("A3.1")
@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"latitude": "48.85", "longitude": "2.35"}, "坐标不在中国境内"),
        ({"latitude": "120.13", "longitude": "30.28"}, "坐标不在中国境内"),
        ({"latitude": "30.28", "longitude": ""}, "纬度和经度须同时填写"),
        ({"code": "西湖"}, "机构编码只能包含字母"),
        ({"name": ""}, "请填写机构名称"),
        ({"phone": "call me"}, "电话只能包含数字"),
    ],
)
def test_a3_1_bad_input_is_refused_in_chinese_and_nothing_saved(
    settings, engine, redis_conn, session, session_factory, changes, reason
):
    admin = admin_of(settings, session)
    page = create(admin, **changes).get_data(as_text=True)
    assert reason in page
    assert saved(session_factory, changes.get("code", "XIHU_CHC")) is None
    assert audits(session_factory) == []


def test_a3_1_a_duplicate_code_is_refused(settings, engine, redis_conn, session, session_factory):
    admin = admin_of(settings, session)
    create(admin)
    page = create(admin, name="另一家").get_data(as_text=True)
    assert "该机构编码已存在" in page
    assert saved(session_factory).name == FORM["name"]


# ---- import -------------------------------------------------------------------------------

CSV = (
    "机构编码,机构名称,级别,地址,城市,区县,纬度,经度,维护导管类型,服务项目,开放时间,电话,启用\n"
    "GOOD_1,好机构一,一级,杭州市西湖区学院路77号,杭州市,西湖区,30.279,120.133,PICC、输液港,"
    "PICC维护、输液港维护,周一至周五,0571-1,是\n"
    ",没有编码的机构,,,,,,,PICC,,,,\n"
    "BAD_2,坐标反了,,,,,120.13,30.28,PICC,,,,\n"
    "BAD_3,未知导管,,,,,,,胃管,,,,\n"
    "HOME,本院更新,三级甲等,杭州市上城区解放路88号,杭州市,上城区,,,PICC,PICC维护,,,是\n"
    "GOOD_1,重复编码,,,,,,,PICC,,,,\n"
)


def upload(admin, data: bytes, name: str):
    token = csrf(admin.get("/admin/institutions/import/").get_data(as_text=True))
    return admin.post(
        "/admin/institutions/import/",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def report_rows(page: str) -> list[list[str]]:
    body = re.search(r'<table[^>]*id="import-report".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


@pytest.mark.req("A3.1")
def test_a3_1_an_import_with_bad_rows_reports_each_and_saves_only_good_rows_when_confirmed(
    settings, engine, redis_conn, session, session_factory
):
    admin = admin_of(settings, session)  # makes the home institution (code HOME)
    with session_factory() as s:
        home = s.scalars(select(Institution).where(Institution.code == "HOME")).one()
        home.latitude, home.longitude, home.coordinates_source = 30.2547, 120.1798, "seed"
        s.commit()
    page = html.unescape(upload(admin, CSV.encode("utf-8-sig"), "机构.csv").get_data(as_text=True))
    rows = report_rows(page)
    assert [r[0] for r in rows] == ["2", "3", "4", "5", "6", "7"]
    assert rows[0][3] == "可导入（新增）" and rows[4][3] == "可导入（更新）"
    assert "机构编码不能为空" in rows[1][4]
    assert "坐标不在中国境内" in rows[2][4]
    assert "未知的导管类型“胃管”" in rows[3][4]
    assert "未填坐标：保留原有坐标" in rows[4][4]
    assert "与第2行重复" in rows[5][4]
    assert "确认导入2行" in page
    # nothing saved before the confirmation
    assert saved(session_factory, "GOOD_1") is None and audits(session_factory) == []
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf(page), "token": token}
    done = admin.post("/admin/institutions/import/confirm/", data=form, follow_redirects=True)
    assert "导入完成：新增1家，更新1家。" in html.unescape(done.get_data(as_text=True))
    good = saved(session_factory, "GOOD_1")
    assert good.device_types == ["PICC", "PORT"] and good.coordinates_source == "manual"
    assert good.services == ["PICC_MAINT", "PORT_MAINT"]
    home = saved(session_factory, "HOME")
    assert home.name == "本院更新" and home.device_types == ["PICC"]
    assert (home.latitude, home.longitude, home.coordinates_source) == (30.2547, 120.1798, "seed")
    assert saved(session_factory, "BAD_2") is None and saved(session_factory, "BAD_3") is None
    assert {(a.action, a.detail["via"]) for a in audits(session_factory)} == {
        ("create", "import"),
        ("update", "import"),
    }
    # a second confirmation (double click, back button) saves nothing again
    again = admin.post("/admin/institutions/import/confirm/", data=form, follow_redirects=True)
    assert "导入已过期或已完成" in again.get_data(as_text=True)
    assert len(audits(session_factory)) == 2


@pytest.mark.req("A3.1")
def test_a3_1_an_xlsx_import_and_a_file_that_is_not_a_table(
    settings, engine, redis_conn, session, session_factory
):
    admin = admin_of(settings, session)
    book = Workbook()
    sheet = book.active
    sheet.append(["机构编码", "机构名称", "纬度", "经度", "维护导管类型", "电话"])
    sheet.append(["XLSX_1", "表格机构", 30.25, 120.17, "PICC", "0571-2"])
    buf = io.BytesIO()
    book.save(buf)
    page = html.unescape(upload(admin, buf.getvalue(), "机构.xlsx").get_data(as_text=True))
    assert report_rows(page)[0][3] == "可导入（新增）"
    bad = html.unescape(upload(admin, b"\x00\x01garbage", "机构.xlsx").get_data(as_text=True))
    assert "无法读取该 XLSX 文件" in bad
    wrong = html.unescape(upload(admin, b"a,b\n1,2\n", "x.csv").get_data(as_text=True))
    assert "表头缺少：机构编码、机构名称" in wrong
    other = html.unescape(upload(admin, b"hello", "x.txt").get_data(as_text=True))
    assert "请上传 CSV 或 XLSX 文件" in other
    template = admin.get("/admin/institutions/import/template.csv")
    assert template.status_code == 200 and "机构编码,机构名称" in template.data.decode("utf-8-sig")


@pytest.mark.req("A3.1")
def test_a3_1_an_import_update_keeps_what_blank_cells_leave_out_and_checks_the_phone(session):
    """Blank cells of an existing institution keep what is on file — a blank 启用 does not turn
    a deactivated institution back on — and the phone is checked as the form checks it."""
    from bot.models.enums import ActorType
    from bot.services import audit, institutions

    session.add(
        Institution(
            code="OLD",
            name="停用的门诊",
            address="西湖区文三路1号",
            phone="0571-88000001",
            opening_hours="周一至周五",
            device_types=["PICC"],
            services=["PICC_MAINT"],
            active=False,
        )
    )
    session.commit()
    rows = institutions.check_rows(
        session,
        [
            {"code": "OLD", "name": "改名的门诊", "phone": "", "active": "", "address": ""},
            {"code": "NEW", "name": "新门诊", "phone": "0571-8800 转 12", "active": ""},
            {"code": "BAD", "name": "乱填电话", "phone": "打电话找王护士"},
        ],
    )
    old, new, bad = rows
    assert old.ok and any("空白单元格保留原有内容" in n and "电话" in n for n in old.notes)
    assert new.ok and bad.problems == [institutions.PHONE_PROBLEM]
    actor = audit.Actor(ActorType.STAFF, None)
    assert institutions.save_rows(session, [old.values, new.values], actor, None)[:2] == (1, 1)
    session.commit()
    session.expire_all()
    kept = session.scalars(select(Institution).where(Institution.code == "OLD")).one()
    assert (kept.name, kept.phone, kept.opening_hours, kept.address) == (
        "改名的门诊",
        "0571-88000001",
        "周一至周五",
        "西湖区文三路1号",
    )
    assert kept.active is False and kept.device_types == ["PICC"]
    assert kept.services == ["PICC_MAINT"]
    added = session.scalars(select(Institution).where(Institution.code == "NEW")).one()
    assert added.active is True and added.phone == "0571-8800 转 12"
    switched = institutions.check_rows(
        session, [{"code": "OLD", "name": "改名的门诊", "active": "是"}]
    )
    institutions.save_rows(session, [switched[0].values], actor, None)
    session.commit()
    assert session.scalars(select(Institution).where(Institution.code == "OLD")).one().active


@pytest.mark.req("A3.1")
def test_a3_1_a_stylesheet_still_loading_from_the_page_before_does_not_void_the_form(
    settings, engine, redis_conn, session, session_factory
):
    """The browser asks for the last page's stylesheets with the cookie it had then; their
    responses arrive after the form page set its CSRF secret. They must not write the old
    session back, or the form fails on submit."""
    admin = admin_of(settings, session)
    before = admin.get_cookie("session").value  # signed in, no form opened yet
    form_page = admin.get("/admin/institutions/new/").get_data(as_text=True)
    assert admin.get_cookie("session").value != before  # the form's CSRF secret is in it

    late = admin.application.test_client()
    late.set_cookie("session", before)
    static = late.get("/admin/static/admin/css/bootstrap4/admin.css?v=1.1.1")
    assert static.status_code == 200
    assert "Set-Cookie" not in static.headers  # nothing to write over the newer cookie

    page = admin.post(
        "/admin/institutions/new/",
        data={"csrf_token": csrf(form_page), **FORM},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert saved(session_factory) is not None, page


@pytest.mark.req("A3.1")
def test_a3_1_a_form_whose_csrf_token_fails_says_to_reload_and_saves_nothing(
    settings, engine, redis_conn, session, session_factory
):
    admin = admin_of(settings, session)
    admin.get("/admin/institutions/new/")
    page = admin.post(
        "/admin/institutions/new/",
        data={"csrf_token": "20991231000000##forged", **FORM},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "页面已过期，未保存：请刷新页面，重新填写后再保存。" in page
    assert saved(session_factory) is None
