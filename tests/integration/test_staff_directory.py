"""Staff from the HR export and the WeChat Work directory (A1.2)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.models import Department, Institution, Staff
from bot.models.enums import StaffRole
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.support.callbacks import sim_config

pytestmark = [pytest.mark.db, pytest.mark.redis]

CSV = """staff_no,name,role,department_code,department_name,title,phone,wecom_userid,active
N1001,王护士,护士,VAC,血管通路护理门诊,护师,13800000001,,1
N1002,赵护士,nurse,VAC,血管通路护理门诊,护士长,13800000002,,
D2001,李医生,医生,IR,介入科,主治医师,13800000003,,是
X9,坏数据,保安,,,,,,
N1003,错号码,护士,,,,12345,,
"""


@pytest.fixture
def app(settings, engine, redis_conn, session):
    session.add(Institution(code="HOME", name="本院", is_home=True))
    session.commit()
    return create_app(settings)


@pytest.mark.req("A1.2")
def test_hr_csv_import_creates_updates_and_reports_bad_rows(app, tmp_path, session_factory, cipher):
    path = tmp_path / "hr.csv"
    path.write_bytes(CSV.encode("gb18030"))  # as Excel saves it on Chinese Windows
    out = app.test_cli_runner().invoke(args=["staff", "import", str(path)])
    assert "新增 3 人，更新 0 人" in out.output
    assert "第5行：角色“保安”无效" in out.output and "第6行：手机号“12345”无效" in out.output
    with session_factory() as s:
        nurse = s.scalar(select(Staff).where(Staff.staff_no == "N1001"))
        assert nurse.role is StaffRole.NURSE and nurse.department.name == "血管通路护理门诊"
        assert nurse.phone_index == cipher.blind_index("13800000001", kind="phone")
        assert nurse.password_hash is None  # no password from an import
    # a later full export without 赵护士 and with 王护士 left
    path2 = tmp_path / "hr.json"
    path2.write_text(
        json.dumps(
            [
                {"staff_no": "N1001", "name": "王护士", "role": "护士", "active": "离职"},
                {"staff_no": "D2001", "name": "李医生", "role": "医生", "title": "副主任医师"},
            ],
            ensure_ascii=False,
        )
    )
    out = app.test_cli_runner().invoke(args=["staff", "import", str(path2), "--deactivate-missing"])
    assert "更新 2 人，停用 1 人" in out.output
    with session_factory() as s:
        active = {x.staff_no: x.active for x in s.scalars(select(Staff))}
        assert active == {"N1001": False, "N1002": False, "D2001": True}


@pytest.mark.req("A1.2")
def test_wecom_sync_links_members_by_mobile_and_mirrors_departments(
    settings, app, tmp_path, session_factory
):
    path = tmp_path / "hr.csv"
    path.write_text(CSV)
    app.test_cli_runner().invoke(args=["staff", "import", str(path)])
    with LiveSim(sim_config(settings)) as sim:
        sim.state.add_work_user("x0009", "陌生人", [4], mobile="13900009999")
        live = create_app(replace(settings, wecom_api_base=sim.work_api_base))
        out = live.test_cli_runner().invoke(args=["staff", "sync-wecom"])
    assert "关联成员 3 人" in out.output and "陌生人（x0009）" in out.output
    with session_factory() as s:
        nurse = s.scalar(select(Staff).where(Staff.staff_no == "N1001"))
        assert nurse.wecom_userid == "n0001"
        assert nurse.department.wecom_department_id == 3
        assert (
            s.scalar(select(Department).where(Department.wecom_department_id == 5)).name
            == "外院医护"
        )


@pytest.mark.req("C1.1")
def test_an_operator_gives_the_first_administrator_a_temporary_password(
    app, session, session_factory
):
    home = session.scalar(select(Institution).where(Institution.is_home.is_(True)))
    session.add(
        Staff(institution_id=home.id, staff_no="admin", name="系统管理员", role=StaffRole.ADMIN)
    )
    session.commit()
    out = app.test_cli_runner().invoke(args=["staff", "reset-password", "admin"])
    password = out.output.split("临时密码：")[1].split("（")[0]
    from bot.services import auth
    from web import container

    with app.app_context(), session_factory() as s:
        signed = auth.sign_in(s, container().cipher, "admin", password)
        assert signed.must_change_password
    assert app.test_cli_runner().invoke(args=["staff", "reset-password", "nobody"]).exit_code == 1
