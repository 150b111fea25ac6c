"""临床字典 in the admin web (A7.1): the version in force shown section by section, a section
edited as JSON, previewed as a diff and published through the same rules as
``flask dictionary publish``; a rule-breaking or malformed edit refused with its reasons and
nothing published; the history and the diff between versions; administrators only."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.models import (
    AuditLog,
    Catheter,
    ClinicalDictionary,
    Institution,
    Patient,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, CatheterState, StaffRole
from bot.services import audit, auth
from bot.services import dictionary as dictionary_service
from server import create_app
from tests.integration.test_staff_web import sign_in
from tests.support.web_clients import add_admin, admin_client, form_token

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.req("A7.1")]

EDIT = "/admin/dictionary/edit?section="


@pytest.fixture
def world(settings, engine, redis_conn, session):
    admin = add_admin(session)
    app = create_app(settings)
    return {"app": app, "admin": admin_client(app), "admin_id": admin.id}


def versions(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ClinicalDictionary))


def text_of(page: str) -> str:
    """The editor's text as the browser would submit it."""
    found = re.search(r'<textarea[^>]*name="text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "the page has no editor"
    return html.unescape(found.group(1))


def previewed(page: str) -> str:
    return re.search(r'name="previewed" value="([^"]*)"', page).group(1)


def submit(client, section: str, page: str, text: str, note: str, do: str = "preview"):
    return client.post(
        EDIT + section,
        data={
            "csrf_token": form_token(page),
            "previewed": previewed(page),
            "text": text,
            "note": note,
            "do": do,
        },
    )


def changed_picc(text: str, days) -> str:
    rules_ = json.loads(text)
    for r in rules_:
        if (r["device_type"], r["when"]) == ("PICC", "TRANSPARENT"):
            r["days"] = days
    return json.dumps(rules_, ensure_ascii=False, indent=2)


def change_rows(page: str) -> list[str]:
    """The rows of the changes table, as text."""
    table = page.split('class="table table-sm table-bordered dictionary-changes"', 1)[1]
    table = table.split("</table>", 1)[0]
    rows = re.findall(r'<tr class="table-[a-z]+">(.*?)</tr>', table, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]


def test_a7_1_the_version_in_force_is_shown_section_by_section_in_chinese(world):
    page = world["admin"].get("/admin/dictionary/").get_data(as_text=True)
    assert "临床字典 · 第1版" in page and "现行" in page
    for section in ("导管类型", "维护间隔", "随访分级", "红旗阈值", "并发症目录", "检验项目"):
        assert f"<h4>{section}" in page
    # a device type with its name, SNOMED CT codes and maintenance intervals on one row
    picc = re.search(r"<tr><td>PICC</td>.*?</tr>", page, re.S).group(0)
    assert "经外周静脉置入中心静脉导管" in picc and "1396526001" in picc
    assert "透明敷料 每 7 天" in picc and "纱布敷料 每 2 天" in picc
    # a complication with its grades, a removal reason, a lab item
    assert re.search(r"<td>PHLEBITIS</td><td>静脉炎</td>.*?<td>0、1、2、3、4级</td>", page, re.S)
    assert "治疗结束" in page and "白细胞计数" in page


def test_a7_1_an_admin_changes_the_picc_interval_and_the_care_rules_use_it(world, session):
    admin = world["admin"]
    page = admin.get(EDIT + "maintenance_intervals").get_data(as_text=True)
    text = changed_picc(text_of(page), 5)
    preview = submit(admin, "maintenance_intervals", page, text, "PICC 透明敷料改为每5天")
    preview_page = preview.get_data(as_text=True)
    # the preview names exactly the change, and nothing is in force yet
    assert change_rows(preview_page) == [
        "修改 维护间隔 › PICC/TRANSPARENT（冲封管、透明敷料及输液接头更换） › 间隔天数 7 5"
    ]
    assert versions(session) == 1
    done = submit(
        admin, "maintenance_intervals", preview_page, text, "PICC 透明敷料改为每5天", "publish"
    )
    assert done.status_code == 302
    session.expire_all()
    d = dictionary_service.current(session)
    assert d.version == 2 and d.intervals[("PICC", "TRANSPARENT")] == 5
    assert d.intervals[("PICC", "GAUZE")] == 2  # the rest of the section is as it was
    row = session.scalar(select(ClinicalDictionary).where(ClinicalDictionary.version == 2))
    assert (row.note, row.created_by_id) == ("PICC 透明敷料改为每5天", world["admin_id"])
    # the next maintenance of a PICC is now due 5 days after the last one
    assert rules.next_due_on(d, "PICC", date(2026, 3, 2)) == date(2026, 3, 7)
    entry = session.scalars(
        select(AuditLog).where(AuditLog.object_type == "clinical_dictionary")
    ).one()
    assert (entry.action, entry.actor_type, entry.actor_id, entry.object_id) == (
        "update",
        ActorType.STAFF,
        world["admin_id"],
        "2",
    )
    shown = admin.get("/admin/dictionary/").get_data(as_text=True)
    assert "临床字典第 2 版已生效" in shown and "透明敷料 每 5 天" in shown


def test_a7_1_a_rule_breaking_edit_is_refused_with_every_reason_and_nothing_published(
    world, session
):
    admin = world["admin"]
    page = admin.get(EDIT + "maintenance_intervals").get_data(as_text=True)
    entries = json.loads(changed_picc(text_of(page), -7))
    entries.append(dict(entries[0]))  # a duplicate rule
    text = json.dumps(entries, ensure_ascii=False, indent=2)
    for do in ("preview", "publish"):  # a publish without a preview is checked the same way
        r = submit(admin, "maintenance_intervals", page, text, "错误修改", do)
        answer = r.get_data(as_text=True)
        assert r.status_code == 200 and "未发布，原因：" in answer
        assert "维护间隔必须为正整数天：PICC/TRANSPARENT = -7" in answer
        assert "维护间隔重复：PICC/TRANSPARENT" in answer
        assert "发布为第2版" not in answer
        assert text_of(answer) == text  # the administrator's text is kept
    assert versions(session) == 1


def test_a7_1_a_device_type_still_in_place_cannot_be_removed(world, session):
    patient = Patient(name="赵一")
    session.add(patient)
    session.flush()
    session.add(
        Catheter(
            patient_id=patient.id,
            device_type="CVC",
            state=CatheterState.IN_PLACE,
            placed_at=utcnow() - timedelta(days=3),
        )
    )
    session.commit()
    admin = world["admin"]
    page = admin.get(EDIT + "all").get_data(as_text=True)
    payload = json.loads(text_of(page))
    payload["device_types"] = [d for d in payload["device_types"] if d["code"] != "CVC"]
    payload["maintenance_intervals"] = [
        r for r in payload["maintenance_intervals"] if r["device_type"] != "CVC"
    ]
    r = submit(admin, "all", page, json.dumps(payload, ensure_ascii=False), "停用CVC")
    assert "导管类型 CVC 仍有 1 根在位导管使用，不能删除" in r.get_data(as_text=True)
    assert versions(session) == 1


def test_a7_1_an_edit_that_would_change_the_indicators_is_refused_naming_them(world, session):
    admin = world["admin"]
    page = admin.get(EDIT + "complications").get_data(as_text=True)
    entries = [e for e in json.loads(text_of(page)) if e["code"] != "THROMBOSIS"]
    for e in entries:
        e.pop("clabsi", None)
    text = json.dumps(entries, ensure_ascii=False, indent=2)
    for do in ("preview", "publish"):
        answer = html.unescape(
            submit(admin, "complications", page, text, "整理并发症目录", do).get_data(as_text=True)
        )
        assert "未发布，原因：" in answer
        assert "并发症 THROMBOSIS 不能删除：统计指标“导管相关性血栓发生率”按此编码计算" in answer
        assert "须至少有一项标为导管相关血流感染（clabsi: true）" in answer
        assert "中心静脉导管相关血流感染发生率（CLABSI/CRBSI）" in answer
    assert versions(session) == 1


def _without_device(payload: dict, code: str) -> None:
    payload["device_types"] = [d for d in payload["device_types"] if d["code"] != code]
    payload["maintenance_intervals"] = [
        r for r in payload["maintenance_intervals"] if r["device_type"] != code
    ]


def _flag(payload: dict, key: str, code: str, flag: str, value) -> None:
    for entry in payload[key]:
        if entry["code"] == code:
            entry[flag] = value


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda p: _without_device(p, "PICC"),
            "导管类型 PICC 不能删除：统计指标“PICC非计划拔管率”按此编码计算",
        ),
        (
            lambda p: _without_device(p, "CVC"),
            "导管类型 CVC 不能删除：统计指标“CVC非计划拔管率”按此编码计算",
        ),
        (
            lambda p: _flag(p, "device_types", "PORT", "central", False),
            "导管类型 PORT 须标为中心静脉导管（central: true）：统计指标“中心静脉导管相关血流感染"
            "发生率（CLABSI/CRBSI）”的中心导管日按此计算",
        ),
        (
            lambda p: _flag(p, "device_types", "PICC", "central", None),
            "导管类型 PICC 须标为中心静脉导管（central: true）",
        ),
        (
            lambda p: _flag(p, "complications", "CRBSI", "clabsi", False),
            "并发症目录中须至少有一项标为导管相关血流感染（clabsi: true）：统计指标“中心静脉导管"
            "相关血流感染发生率（CLABSI/CRBSI）”按此计数",
        ),
        (
            lambda p: p.update(
                complications=[c for c in p["complications"] if c["code"] != "THROMBOSIS"]
            ),
            "并发症 THROMBOSIS 不能删除：统计指标“导管相关性血栓发生率”按此编码计算",
        ),
    ],
)
def test_a7_1_the_codes_the_indicators_count_by_are_kept(session, edit, reason):
    payload = dictionary_service.payload_of(session, 1)
    assert dictionary_service.check(session, payload) == []
    edit(payload)
    assert reason in "\n".join(dictionary_service.check(session, payload))
    # the clabsi flag moved to another complication is no loss
    moved = dictionary_service.payload_of(session, 1)
    _flag(moved, "complications", "CRBSI", "clabsi", False)
    _flag(moved, "complications", "LOCAL_INFECTION", "clabsi", True)
    assert dictionary_service.check(session, moved) == []


def test_a7_1_malformed_json_is_answered_with_its_line(world, session):
    admin = world["admin"]
    page = admin.get(EDIT + "red_flags").get_data(as_text=True)
    text = '{\n  "external_length_change_cm": 2.0\n  "arm_circumference_increase_cm": 2.0\n}'
    answer = submit(admin, "red_flags", page, text, "改阈值").get_data(as_text=True)
    assert "JSON 格式错误：第 3 行第 3 列，缺少逗号" in answer
    assert text_of(answer) == text
    # the right JSON of the wrong kind is refused too
    answer = submit(admin, "red_flags", page, "[1, 2]", "改阈值").get_data(as_text=True)
    assert "「红旗阈值」应为对象" in answer
    assert versions(session) == 1


def test_a7_1_a_change_after_the_preview_is_previewed_again_before_it_is_published(world, session):
    admin = world["admin"]
    page = admin.get(EDIT + "reminders").get_data(as_text=True)
    three = '{"due_soon_days": 3, "reminder_days_before": 2}'
    preview_page = submit(admin, "reminders", page, three, "提前3天").get_data(as_text=True)
    assert change_rows(preview_page) == ["修改 即将到期提前天数 2 3"]
    four = '{"due_soon_days": 4, "reminder_days_before": 2}'
    r = submit(admin, "reminders", preview_page, four, "提前3天", "publish")
    assert "内容在预览后有改动" in r.get_data(as_text=True)
    assert versions(session) == 1
    # a missing note is refused as well
    r = submit(admin, "reminders", page, three, "  ")
    assert "请填写修改说明" in r.get_data(as_text=True)
    assert versions(session) == 1


def test_a7_1_the_diff_between_two_versions_names_exactly_the_changed_key(world, session):
    payload = dictionary_service.payload_of(session, 1)
    picc = next(d for d in payload["device_types"] if d["code"] == "PICC")
    picc["max_dwell_days"] = 180
    by = audit.Actor(ActorType.STAFF, world["admin_id"])
    dictionary_service.publish(session, payload, by, "PICC 最长留置改为180天")
    session.commit()
    admin = world["admin"]
    history = admin.get("/admin/dictionary/history").get_data(as_text=True)
    assert re.search(r"第2版.*?王管理.*?PICC 最长留置改为180天", history, re.S)
    assert re.search(r"第1版.*?系统.*?出厂默认值", history, re.S)
    page = admin.get("/admin/dictionary/diff?a=1&b=2").get_data(as_text=True)
    assert change_rows(page) == [
        "修改 导管类型 › PICC（经外周静脉置入中心静脉导管） › 最长留置天数 365 180"
    ]
    assert '-      "max_dwell_days": 365' in html.unescape(page)  # the text view
    # the old version stays readable, marked as not in force
    old = admin.get("/admin/dictionary/version/1").get_data(as_text=True)
    assert "历史版本，未生效" in old and "365" in old
    assert admin.get("/admin/dictionary/diff?a=1&b=9").status_code == 404


def test_a7_1_only_administrators_see_or_edit_the_dictionary(world, session):
    session.add(
        Staff(
            institution=session.scalar(select(Institution)),
            staff_no="N001",
            name="李护士",
            role=StaffRole.NURSE,
            password_hash=auth.hash_password("Nurse1234"),
            password_changed_at=utcnow(),
        )
    )
    session.commit()
    nurse = world["app"].test_client()
    assert sign_in(nurse, "N001", "Nurse1234").status_code == 302
    for url in ("/admin/dictionary/", EDIT + "tiers", "/admin/dictionary/history"):
        assert nurse.get(url).status_code == 403
    r = nurse.post(EDIT + "tiers", data={"text": "[]", "note": "x", "do": "publish"})
    assert r.status_code == 403
    anonymous = world["app"].test_client().get("/admin/dictionary/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # an administrator's form without the CSRF token is refused
    r = world["admin"].post(EDIT + "tiers", data={"text": "[]", "note": "x", "do": "preview"})
    assert r.status_code == 400
    assert versions(session) == 1


# --- two administrators publishing at the same moment ------------------------------------------

RACE_LOST = "发布失败：字典刚被其他人更新为第 2 版，请刷新后在最新版本上修改"


def publish_as_another(session_factory, note: str = "另一位管理员的修改") -> None:
    """Another administrator (here the CLI's system actor) publishes version 2 and commits."""
    with session_factory() as other:
        payload = dictionary_service.payload_of(other, 1)
        payload["due_soon_days"] = 5
        dictionary_service.publish(other, payload, audit.SYSTEM, note)
        other.commit()


@contextmanager
def published_meanwhile(session_factory) -> Iterator[list[bool]]:
    """Another publish lands between a publish's read of the latest version and its write:
    deterministically, when the first new version is about to be flushed, in any session."""
    landed: list[bool] = []

    def land(flushing: Session, _context, _instances) -> None:
        if landed or not any(isinstance(o, ClinicalDictionary) for o in flushing.new):
            return
        landed.append(True)  # before publishing, whose own flush comes here too
        publish_as_another(session_factory)

    event.listen(Session, "before_flush", land)
    try:
        yield landed
    finally:
        event.remove(Session, "before_flush", land)


def in_force_note(session) -> str:
    session.expire_all()
    return dictionary_service.versions(session)[0].note


def test_a7_1_a_publish_based_on_an_older_version_is_refused_and_nothing_published(
    session, session_factory
):
    publish_as_another(session_factory)
    payload = dictionary_service.payload_of(session, 1)
    payload["reminder_days_before"] = 3
    with pytest.raises(dictionary_service.StaleDictionary) as refused:
        dictionary_service.publish(session, payload, audit.SYSTEM, "提醒提前3天", based_on=1)
    assert refused.value.problems == [RACE_LOST]
    session.rollback()
    assert versions(session) == 2 and in_force_note(session) == "另一位管理员的修改"
    # on the version in force it is published
    row = dictionary_service.publish(session, payload, audit.SYSTEM, "提醒提前3天", based_on=2)
    assert row.version == 3


@pytest.mark.parametrize("based_on", [1, None])
def test_a7_1_of_two_publishes_at_the_same_moment_the_second_is_refused_not_failed(
    session, session_factory, based_on
):
    payload = dictionary_service.payload_of(session, 1)
    payload["reminder_days_before"] = 3
    with (
        published_meanwhile(session_factory) as landed,
        pytest.raises(dictionary_service.StaleDictionary) as refused,
    ):
        dictionary_service.publish(session, payload, audit.SYSTEM, "提醒提前3天", based_on)
    assert landed and refused.value.problems == [RACE_LOST]
    session.rollback()
    assert versions(session) == 2 and in_force_note(session) == "另一位管理员的修改"
    audited = session.scalars(
        select(AuditLog.object_id).where(AuditLog.object_type == "clinical_dictionary")
    ).all()
    assert audited == ["2"]  # the other one's publish only


def test_a7_1_an_admin_publishing_at_the_same_moment_as_another_is_told_so(
    world, session, session_factory
):
    admin = world["admin"]
    page = admin.get(EDIT + "maintenance_intervals").get_data(as_text=True)
    text = changed_picc(text_of(page), 5)
    preview = submit(admin, "maintenance_intervals", page, text, "PICC 改为每5天")
    preview_page = preview.get_data(as_text=True)
    with published_meanwhile(session_factory) as landed:
        r = submit(admin, "maintenance_intervals", preview_page, text, "PICC 改为每5天", "publish")
    answer = r.get_data(as_text=True)
    assert landed and r.status_code == 200
    assert "未发布，原因：" in answer and RACE_LOST in answer
    assert text_of(answer) == text  # the administrator's edit is kept
    assert versions(session) == 2 and in_force_note(session) == "另一位管理员的修改"
    # previewed again on version 2 (the other change kept), it is published as version 3
    again = submit(admin, "maintenance_intervals", page, text, "PICC 改为每5天")
    again_page = again.get_data(as_text=True)
    assert "与现行第2版相比的改动" in again_page
    done = submit(admin, "maintenance_intervals", again_page, text, "PICC 改为每5天", "publish")
    assert done.status_code == 302
    session.expire_all()
    d = dictionary_service.current(session)
    assert (d.version, d.intervals[("PICC", "TRANSPARENT")], d.due_soon_days) == (3, 5, 5)


def test_a7_1_a_publish_after_another_since_the_preview_names_the_version_now_in_force(
    world, session, session_factory
):
    admin = world["admin"]
    page = admin.get(EDIT + "reminders").get_data(as_text=True)
    three = '{"due_soon_days": 3, "reminder_days_before": 2}'
    preview_page = submit(admin, "reminders", page, three, "提前3天").get_data(as_text=True)
    publish_as_another(session_factory)
    r = submit(admin, "reminders", preview_page, three, "提前3天", "publish")
    assert r.status_code == 200 and RACE_LOST in r.get_data(as_text=True)
    assert versions(session) == 2 and in_force_note(session) == "另一位管理员的修改"


def cli(world, *args: str):  # type: ignore[no-untyped-def]
    return world["app"].test_cli_runner().invoke(args=["dictionary", *args])


def test_a7_1_the_cli_refuses_a_file_edited_on_a_version_no_longer_in_force(
    world, session, session_factory, tmp_path
):
    shown = json.loads(cli(world, "show").stdout)
    assert shown["version"] == 1
    shown["reminder_days_before"] = 3
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(shown, ensure_ascii=False), encoding="utf-8")
    publish_as_another(session_factory)
    r = cli(world, "publish", str(edited), "--note", "提醒提前3天")
    assert r.exit_code == 1 and RACE_LOST in r.stderr
    assert versions(session) == 2 and in_force_note(session) == "另一位管理员的修改"
    # shown again from version 2 and edited, it is published
    shown = json.loads(cli(world, "show").stdout)
    shown["reminder_days_before"] = 3
    edited.write_text(json.dumps(shown, ensure_ascii=False), encoding="utf-8")
    r = cli(world, "publish", str(edited), "--note", "提醒提前3天")
    assert r.exit_code == 0 and "临床字典第 3 版已生效" in r.stdout


def test_a7_1_the_cli_publishing_at_the_same_moment_as_another_fails_clearly(
    world, session, session_factory, tmp_path
):
    payload = dictionary_service.payload_of(session, 1)  # no version: written by hand
    payload["reminder_days_before"] = 3
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    with published_meanwhile(session_factory) as landed:
        r = cli(world, "publish", str(edited), "--note", "提醒提前3天")
    assert landed and r.exit_code == 1
    assert "字典未发布，原因：" in r.stderr and RACE_LOST in r.stderr
    assert versions(session) == 2 and in_force_note(session) == "另一位管理员的修改"
