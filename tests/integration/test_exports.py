"""Exports (A6.2): the raw records of a period and the dashboard's tables as XLSX and CSV, with
the dictionary's labels and identifiers masked unless an administrator allowed to see them in
full states why; refused above the limit with the reason; every export in the export log (who,
what, filters, rows, the file's hash) and audited, its download too; written by an RQ job that
reports its progress and does nothing twice. A masked export leaves out the free text a nurse
typed (备注, 培养结果…); a file with identifiers in full is deleted after its keeping period, its
row kept and its download answered 410."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import func, select

import admin.exports as export_views
from bot import container
from bot.config import ConfigError, load_settings
from bot.jobs import exports as export_jobs
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    Department,
    ExportLog,
    Institution,
    MaintenanceRecord,
    Patient,
    Reminder,
    Removal,
    Staff,
    utcnow,
)
from bot.models.enums import (
    CatheterState,
    Channel,
    DeliveryStatus,
    ExportStatus,
    ReminderKind,
    StaffRole,
)
from bot.services import auth, exports, stats
from bot.services import dictionary as dictionary_service
from server import bootstrap, create_app, scheduler
from tests.integration.test_staff_web import sign_in
from tests.support.web_clients import add_admin, admin_client, form_token

pytestmark = [pytest.mark.db, pytest.mark.redis]

TZ = ZoneInfo("Asia/Shanghai")
MARCH = stats.Filters(start=date(2026, 3, 1), end=date(2026, 4, 1))
ID_CARD, PHONE = "11010519491231002X", "13812345678"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def world(settings, engine, redis_conn, session, cipher):
    """本院 肿瘤科; 张三 (ID card, phone, 病案号) with a PICC placed on 5 March by 李护士, 欧阳娜娜
    with a port placed at 23:30 on 31 March; a PICC placed at 00:30 on 1 April (31 March in
    UTC) and one in February, removed in March."""
    home = Institution(code="HOME", name="本院", is_home=True)
    admin = add_admin(session, home)
    ward = Department(institution=home, code="ONC", name="肿瘤科")
    nurse = Staff(institution=home, staff_no="N001", name="李护士", role=StaffRole.NURSE)
    zhang = Patient(
        name="张三",
        hospital_patient_id="H0012345",
        id_card_enc=cipher.encrypt(ID_CARD, context="patient.id_card"),
        phone_enc=cipher.encrypt(PHONE, context="patient.phone"),
    )
    ouyang = Patient(name="欧阳娜娜")
    session.add_all([ward, nurse, zhang, ouyang])
    session.flush()
    picc = Catheter(
        patient_id=zhang.id,
        device_type="PICC",
        placed_at=local(2026, 3, 5, 10, 0),
        institution_id=home.id,
        department_id=ward.id,
        inserter_id=nurse.id,
        brand="=HYPERLINK(1)",
        lot_number="L123",
        indication="化疗",
        tip_position="上腔静脉下段",
        vein="BASILIC",
        side="RIGHT",
        external_length_cm=2,
    )
    port = Catheter(patient_id=ouyang.id, device_type="PORT", placed_at=local(2026, 3, 31, 23, 30))
    april = Catheter(patient_id=zhang.id, device_type="PICC", placed_at=local(2026, 4, 1, 0, 30))
    february = Catheter(
        patient_id=ouyang.id,
        device_type="PICC",
        placed_at=local(2026, 2, 28, 9, 0),
        state=CatheterState.REMOVED,
        removed_on=date(2026, 3, 20),
    )
    session.add_all([picc, port, april, february])
    session.commit()
    return {
        "admin": admin,
        "home": home,
        "ward": ward,
        "nurse": nurse,
        "zhang": zhang,
        "ouyang": ouyang,
        "picc": picc,
        "port": port,
        "april": april,
        "february": february,
    }


@pytest.fixture
def jobs(settings, session_factory):
    """The worker's container, so jobs run in this process as `python -m server.worker`."""
    container.install(bootstrap(settings, session_factory=session_factory))
    yield
    container.install(None)


def start(session, staff, kind, filters=MARCH, fmt="xlsx", *, full=False, reason=None, limit=100):
    export = exports.start_export(
        session,
        staff,
        kind,
        filters,
        fmt,
        full_identifiers=full,
        reason=reason,
        max_rows=limit,
        tz=TZ,
    )
    session.commit()
    return export


def ask(client, form_page: str, **fields: str):
    """Post the export form: March's placements as XLSX unless ``fields`` say otherwise."""
    data = {"kind": "placements", "start": "2026-03-01", "to": "2026-03-31", "format": "xlsx"}
    data |= {**fields, "csrf_token": form_token(form_page)}
    return client.post("/admin/exports/new", data=data)


def sheet_rows(path) -> list[list]:
    book = openpyxl.load_workbook(path)  # not read-only: that drops a row's empty last cells
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def csv_rows(path) -> list[list[str]]:
    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 as such
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def export_row(session, export_id) -> ExportLog:
    session.expire_all()
    return session.get_one(ExportLog, export_id)


def audits(session, action) -> list[AuditLog]:
    session.expire_all()
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


@pytest.mark.req("A6.2")
def test_a6_2_placements_of_a_period_as_xlsx_with_labels_masked_identifiers_logged_and_audited(
    world, session, jobs
):
    export = start(session, world["admin"], "placements")
    assert export.status is ExportStatus.QUEUED and export.rq_job_id == f"export-{export.id}"
    assert export_jobs.run_export(export.id) == "done"

    row = export_row(session, export.id)
    rows = sheet_rows(row.file_path)
    assert rows[0][:12] == [
        "导管编号",
        "患者姓名",
        "病案号",
        "身份证号",
        "手机号",
        "导管类型",
        "置管时间",
        "置管机构",
        "科室",
        "置管者",
        "品牌",
        "型号",
    ]
    header = rows[0]
    got = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    # the April PICC (00:30 local is 31 March in UTC) and the February one are not in March
    assert [r["导管编号"] for r in got] == [world["picc"].id, world["port"].id]
    zhang, ouyang = got
    assert (zhang["患者姓名"], zhang["病案号"], zhang["身份证号"], zhang["手机号"]) == (
        "张*",
        "****2345",
        "1101**********002X",
        "138****5678",
    )
    assert zhang["导管类型"] == "PICC" and zhang["置管时间"] == datetime(2026, 3, 5, 10, 0)
    assert (zhang["置管机构"], zhang["科室"], zhang["置管者"]) == ("本院", "肿瘤科", "李护士")
    assert (zhang["静脉"], zhang["侧别"], zhang["批号"], zhang["状态"]) == (
        "贵要静脉",
        "右侧",
        "L123",
        "在位",
    )
    assert zhang["外露长度(cm)"] == 2
    # text typed like a formula stays text in Excel
    brand = openpyxl.load_workbook(row.file_path).worksheets[0].cell(2, header.index("品牌") + 1)
    assert (brand.value, brand.data_type) == ("=HYPERLINK(1)", "s")
    # masked: the free text a nurse typed is left out (it may name the patient)
    assert "适应证" not in header and "尖端位置" not in header
    assert ouyang["患者姓名"] == "欧**娜" and ouyang["导管类型"] == "输液港"
    assert ouyang["置管时间"] == datetime(2026, 3, 31, 23, 30)
    assert not any(
        secret in str(cell) for r in rows for cell in r for secret in (ID_CARD, PHONE, "张三")
    )

    # the log: who, what, filters, rows and the file's hash
    digest = hashlib.sha256(Path(row.file_path).read_bytes()).hexdigest()
    assert (row.status, row.staff_id, row.kind, row.format) == (
        ExportStatus.DONE,
        world["admin"].id,
        "placements",
        "xlsx",
    )
    assert row.params["start"] == "2026-03-01" and row.params["end"] == "2026-04-01"
    assert (row.row_count, row.rows_written, row.file_sha256) == (2, 2, digest)
    assert row.file_path.endswith(f"exports/{export.id}-placements.xlsx")
    assert row.finished_at is not None and row.full_identifiers is False
    [entry] = audits(session, "export")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        world["admin"].id,
        "export",
        str(export.id),
    )
    assert entry.detail == {
        "kind": "placements",
        "filters": row.params,
        "format": "xlsx",
        "row_count": 2,
        "sha256": digest,
        "full_identifiers": False,
        "reason": None,
    }


@pytest.mark.req("A6.2")
def test_a6_2_maintenance_as_csv_filtered_by_device_type_with_formulas_kept_as_text(
    world, session, jobs
):
    picc, port = world["picc"], world["port"]
    session.add_all(
        [
            MaintenanceRecord(
                catheter_id=picc.id,
                performed_at=local(2026, 3, 12, 9, 0),
                staff_id=world["nurse"].id,
                site_findings=["REDNESS", "SWELLING"],
                flushed=True,
                patency="PATENT",
                next_due_on=date(2026, 3, 19),
                notes="=1+1",
            ),
            # the first minutes of April (local) and a port are not in a March PICC export
            MaintenanceRecord(catheter_id=picc.id, performed_at=local(2026, 4, 1, 0, 10)),
            MaintenanceRecord(catheter_id=port.id, performed_at=local(2026, 3, 12, 9, 0)),
        ]
    )
    session.commit()
    only_picc = replace(MARCH, device_type="PICC")
    export = start(session, world["admin"], "maintenance", only_picc, "csv")
    export_jobs.run_export(export.id)

    rows = csv_rows(export_row(session, export.id).file_path)
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    got = dict(zip(header, body[0], strict=True))
    assert got["导管编号"] == str(picc.id) and got["维护时间"] == "2026-03-12 09:00:00"
    assert (got["患者姓名"], got["身份证号"]) == ("张*", "1101**********002X")
    assert (got["维护者"], got["局部情况"], got["冲管"], got["封管"]) == (
        "李护士",
        "发红、肿胀",
        "是",
        "否",
    )
    assert (got["通畅情况"], got["下次维护日期"], got["回血"]) == ("通畅", "2026-03-19", "")
    assert "备注" not in header  # masked: no free text
    assert export_row(session, export.id).params["device_type"] == "PICC"


@pytest.mark.req("A6.2")
def test_a6_2_complications_removals_and_reminders_are_exported_with_their_labels(
    world, session, jobs
):
    picc, february, zhang = world["picc"], world["february"], world["zhang"]
    session.add_all(
        [
            Complication(
                catheter_id=picc.id,
                patient_id=zhang.id,
                type="PHLEBITIS",
                onset_on=date(2026, 3, 15),
                grade=2,
                department_id=world["ward"].id,
            ),
            Complication(
                catheter_id=picc.id, patient_id=zhang.id, type="OTHER", onset_on=date(2026, 4, 1)
            ),
            Removal(
                catheter_id=february.id,
                removed_on=date(2026, 3, 20),
                reason="ACCIDENTAL",
                unplanned=True,
                dwell_days=20,
            ),
            Reminder(
                catheter_id=picc.id,
                patient_id=zhang.id,
                due_on=date(2026, 3, 12),
                kind=ReminderKind.DUE,
                channel=Channel.SMS,
                status=DeliveryStatus.SENT,
                created_at=local(2026, 3, 10, 8, 0),
            ),
        ]
    )
    session.commit()
    got = {}
    for kind in ("complications", "removals", "reminders"):
        export = start(session, world["admin"], kind)
        export_jobs.run_export(export.id)
        rows = sheet_rows(export_row(session, export.id).file_path)
        got[kind] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    [complication] = got["complications"]
    assert (complication["并发症类型"], complication["分级"], complication["状态"]) == (
        "静脉炎",
        2,
        "待处理",
    )
    assert complication["发生日期"] == datetime(2026, 3, 15) and complication["科室"] == "肿瘤科"
    [removal] = got["removals"]
    assert (removal["拔管原因"], removal["非计划拔管"], removal["留置天数"]) == (
        "意外/非计划拔管",
        "是",
        20,
    )
    assert removal["患者姓名"] == "欧**娜" and removal["导管类型"] == "PICC"
    [reminder] = got["reminders"]
    assert (reminder["提醒类型"], reminder["渠道"], reminder["状态"]) == (
        "当天提醒",
        "短信",
        "已发送",
    )
    assert reminder["手机号"] == "138****5678"


@pytest.mark.req("A6.2")
def test_a6_2_full_identifiers_only_with_the_permission_and_a_reason(world, session, jobs):
    admin = world["admin"]
    with pytest.raises(exports.ExportRefused, match="没有导出完整身份信息的权限"):
        start(session, admin, "placements", full=True, reason="科研随访统计")
    session.rollback()
    admin.may_export_identifiers = True
    session.commit()
    for reason in (None, "   ", "统计"):
        with pytest.raises(exports.ExportRefused, match="须填写导出理由（至少4个字）"):
            start(session, admin, "placements", full=True, reason=reason)
        session.rollback()
    assert session.scalar(select(func.count()).select_from(ExportLog)) == 0

    export = start(session, admin, "placements", fmt="csv", full=True, reason="医务处核查随访名单")
    export_jobs.run_export(export.id)
    row = export_row(session, export.id)
    rows = csv_rows(row.file_path)
    zhang = dict(zip(rows[0], rows[1], strict=True))
    assert (zhang["患者姓名"], zhang["病案号"], zhang["身份证号"], zhang["手机号"]) == (
        "张三",
        "H0012345",
        ID_CARD,
        PHONE,
    )
    # every column, the free text too; a text typed like a formula is not one in Excel
    assert (zhang["适应证"], zhang["尖端位置"], zhang["品牌"]) == (
        "化疗",
        "上腔静脉下段",
        "'=HYPERLINK(1)",
    )
    assert row.full_identifiers is True and row.reason == "医务处核查随访名单"
    [entry] = audits(session, "export")
    assert entry.detail["full_identifiers"] is True
    assert entry.detail["reason"] == "医务处核查随访名单"


@pytest.mark.req("A6.2")
def test_a6_2_an_export_above_the_limit_is_refused_with_the_count_and_nothing_is_kept(
    world, session, settings
):
    with pytest.raises(exports.ExportRefused) as refused:
        start(session, world["admin"], "placements", limit=1)
    assert str(refused.value) == ("共 2 行，超过单次导出上限 1 行，请缩短时间范围或增加筛选条件")
    session.rollback()
    # the web form reads the limit from EXPORT_MAX_ROWS
    app = create_app(replace(settings, export_max_rows=1))
    client = admin_client(app)
    r = ask(client, client.get("/admin/exports/new").get_data(as_text=True))
    assert r.status_code == 200
    assert "共 2 行，超过单次导出上限 1 行，请缩短时间范围或增加筛选条件" in r.get_data(
        as_text=True
    )
    assert session.scalar(select(func.count()).select_from(ExportLog)) == 0


@pytest.mark.req("A6.2")
def test_a6_2_the_export_page_starts_a_job_shows_progress_and_the_download_is_audited(
    world, session, settings, redis_conn, jobs
):
    app = create_app(settings)
    client = admin_client(app)
    # prefilled from the dashboard's link (end exclusive, shown as the last day)
    link = "kind=placements&start=2026-03-01&end=2026-04-01&device_type=PICC&format=csv"
    page = client.get(f"/admin/exports/new?{link}").get_data(as_text=True)
    assert '<option value="placements" selected' in page
    assert 'value="2026-03-31"' in page and '<option value="PICC" selected' in page
    assert 'id="format-csv" value="csv" checked' in page
    assert 'id="full_identifiers"' not in page  # not allowed: no checkbox, masked only
    r = ask(client, page, device_type="")
    export = session.scalar(select(ExportLog))
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/exports/{export.id}")
    assert client.get(f"/admin/exports/{export.id}/download").status_code == 404  # not yet
    status = client.get(f"/admin/exports/{export.id}/status").get_json()
    assert (status["status"], status["rows_written"], status["row_count"]) == ("queued", 0, 2)

    SimpleWorker([Queue("default", connection=redis_conn)], connection=redis_conn).work(burst=True)
    job = Job.fetch(f"export-{export.id}", connection=redis_conn)
    assert job.get_meta()["progress"] == {"rows": 2, "total": 2}
    status = client.get(f"/admin/exports/{export.id}/status").get_json()
    assert (status["status"], status["percent"], status["rows_written"]) == ("done", 100, 2)
    row = export_row(session, export.id)
    assert status["sha256"] == row.file_sha256

    html = client.get(f"/admin/exports/{export.id}").get_data(as_text=True)
    assert 'id="export-download"' in html and row.file_sha256 in html
    listing = client.get("/admin/exports/").get_data(as_text=True)
    assert "王管理" in listing and "置管记录" in listing and row.file_sha256[:12] in listing
    download = client.get(f"/admin/exports/{export.id}/download")
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == row.file_sha256
    assert "attachment" in download.headers["Content-Disposition"]
    [entry] = audits(session, "download")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        world["admin"].id,
        "export",
        str(export.id),
    )


@pytest.mark.req("A6.2")
def test_a6_2_a_second_run_does_nothing_and_a_crashed_run_is_written_again(world, session, jobs):
    export = start(session, world["admin"], "placements")
    export_jobs.run_export(export.id)
    first = export_row(session, export.id)
    digest, path = first.file_sha256, first.file_path
    assert export_jobs.run_export(export.id) == "nothing to do"
    assert len(audits(session, "export")) == 1

    # a worker killed mid-file: the row says running, the file is half written
    crashed = start(session, world["admin"], "placements")
    crashed.status, crashed.rows_written = ExportStatus.RUNNING, 1
    crashed.started_at = utcnow() - exports.JOB_TIMEOUT - timedelta(minutes=1)
    session.commit()
    half = exports.file_path(container.current().settings.media_root, crashed)
    half.parent.mkdir(parents=True, exist_ok=True)
    half.write_bytes(b"PK half a file")
    assert export_jobs.run_export(crashed.id) == "done"
    again = export_row(session, crashed.id)
    assert (again.status, again.row_count, again.file_path) == (ExportStatus.DONE, 2, str(half))
    assert sheet_rows(half) == sheet_rows(path) and len(sheet_rows(half)) == 3
    assert again.file_sha256 == hashlib.sha256(half.read_bytes()).hexdigest()
    assert not half.with_name(half.name + ".part").exists()
    assert len(audits(session, "export")) == 2
    assert export_row(session, export.id).file_sha256 == digest  # the first one untouched


@pytest.mark.req("A6.2")
def test_a6_2_progress_is_visible_on_the_row_and_the_status_page_while_it_runs(
    world, session, settings, session_factory
):
    picc = world["picc"]
    session.add_all(
        MaintenanceRecord(catheter_id=picc.id, performed_at=local(2026, 3, day, 9, 0))
        for day in range(1, 6)
    )
    session.commit()
    export = start(session, world["admin"], "maintenance")
    client = admin_client(create_app(settings))
    seen = []

    def look(rows, total):
        status = client.get(f"/admin/exports/{export.id}/status").get_json()
        seen.append((rows, total, status["status"], status["rows_written"], status["percent"]))

    exports.run(
        session_factory,
        export.id,
        tz=TZ,
        cipher=bootstrap(settings).cipher,
        media_root=settings.media_root,
        chunk=2,
        on_progress=look,
    )
    assert seen == [
        (2, 5, "running", 2, 40),
        (4, 5, "running", 4, 80),
        (5, 5, "done", 5, 100),
    ]


@pytest.mark.req("A6.2")
def test_a6_2_a_failed_export_says_why_in_chinese(world, session, settings, session_factory):
    export = start(session, world["admin"], "placements")
    blocked = settings.media_root.parent / "not-a-folder"
    blocked.write_text("a file where the exports folder should be")
    with pytest.raises(OSError):
        exports.run(
            session_factory,
            export.id,
            tz=TZ,
            cipher=bootstrap(settings).cipher,
            media_root=blocked,
        )
    row = export_row(session, export.id)
    assert row.status is ExportStatus.FAILED and row.error.startswith("写入导出文件失败")
    assert audits(session, "export") == []


@pytest.mark.req("A6.2")
def test_a6_2_a_dashboard_table_is_exported_as_the_dashboard_computes_it(world, session, jobs):
    export = start(session, world["admin"], "table:device_mix")
    export_jobs.run_export(export.id)
    rows = sheet_rows(export_row(session, export.id).file_path)
    d = dictionary_service.current(session)
    today = date.today()
    table = stats.compute(session, MARCH, tz=TZ, today=today, dictionary=d).tables["device_mix"]
    assert rows == [table.columns, *table.rows]
    placed = {r[0]: r[1] for r in rows[1:]}
    assert rows[0][:2] == ["导管类型", "置管例数"]
    assert (placed["PICC"], placed["输液港"], placed["CVC"]) == (1, 1, 0)
    assert export_row(session, export.id).row_count == len(table.rows)


@pytest.mark.req("A6.2")
def test_a6_2_only_an_administrator_may_be_allowed_full_identifiers(world, session, settings):
    client = admin_client(create_app(settings))
    nurse = world["nurse"]
    page = client.get(f"/admin/staff/edit/?id={nurse.id}").get_data(as_text=True)
    assert "可导出完整身份信息" in page
    data = {
        "csrf_token": form_token(page),
        "name": nurse.name,
        "staff_no": nurse.staff_no,
        "role": "nurse",
        "institution": str(world["home"].id),
        "may_export_identifiers": "y",
        "active": "y",
    }
    r = client.post(f"/admin/staff/edit/?id={nurse.id}", data=data, follow_redirects=True)
    assert "只有管理员可以开通" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get_one(Staff, nurse.id).may_export_identifiers is False


@pytest.mark.req("A6.2")
def test_a6_2_a_full_identifier_export_is_downloaded_only_by_an_administrator_allowed_them(
    world, session, settings, jobs
):
    allowed = world["admin"]
    allowed.may_export_identifiers = True
    session.add(
        Staff(
            institution=world["home"],
            staff_no="A002",
            name="赵管理",
            role=StaffRole.ADMIN,
            password_hash=auth.hash_password("Admin5678"),
            password_changed_at=utcnow(),
        )
    )
    session.commit()
    full = start(session, allowed, "placements", full=True, reason="医务处核查随访名单")
    masked = start(session, allowed, "removals")
    for export in (full, masked):
        export_jobs.run_export(export.id)

    app = create_app(settings)
    other = app.test_client()
    assert sign_in(other, "A002", "Admin5678").status_code == 302
    refused = other.get(f"/admin/exports/{full.id}/download")
    assert refused.status_code == 403
    assert "该导出含完整身份信息，您没有查看完整身份信息的权限" in refused.get_data(as_text=True)
    [denied] = audits(session, "denied")
    assert (denied.object_type, denied.object_id, denied.context) == (
        "export",
        str(full.id),
        "export",
    )
    assert denied.detail["wanted"] == "download"
    assert audits(session, "download") == []
    # neither the log nor the export's page offers it to them; the masked one they may have
    listing = other.get("/admin/exports/").get_data(as_text=True)
    assert f'href="/admin/exports/{full.id}/download"' not in listing
    assert f'href="/admin/exports/{masked.id}/download"' in listing
    page = other.get(f"/admin/exports/{full.id}").get_data(as_text=True)
    assert 'id="export-download"' not in page and 'id="export-no-download"' in page
    assert other.get(f"/admin/exports/{masked.id}/download").status_code == 200

    # the administrator allowed full identifiers downloads it, audited as a download
    mine = admin_client(app)
    assert f'href="/admin/exports/{full.id}/download"' in mine.get("/admin/exports/").get_data(
        as_text=True
    )
    assert mine.get(f"/admin/exports/{full.id}/download").status_code == 200
    assert sorted(e.object_id for e in audits(session, "download")) == sorted(
        [str(masked.id), str(full.id)]
    )


@pytest.mark.req("A6.2")
def test_a6_2_a_running_export_is_taken_over_only_once_its_claim_is_older_than_the_job_timeout(
    world, session, settings, redis_conn, jobs
):
    export = start(session, world["admin"], "placements")
    export.status, export.started_at = ExportStatus.RUNNING, utcnow() - timedelta(minutes=5)
    session.commit()
    # another worker is writing it: a second run leaves it alone, and so does 重新排队
    assert export_jobs.run_export(export.id) == "nothing to do"
    busy = export_row(session, export.id)
    assert busy.status is ExportStatus.RUNNING and busy.file_path is None
    client = admin_client(create_app(settings))
    page = client.get(f"/admin/exports/{export.id}").get_data(as_text=True)
    assert 'id="export-retry"' not in page
    token = form_token(client.get("/admin/exports/new").get_data(as_text=True))
    client.post(f"/admin/exports/{export.id}/retry", data={"csrf_token": token})
    assert Queue("default", connection=redis_conn).job_ids == []

    # its worker died: once the claim is older than the job timeout it is queued and written
    busy.started_at = utcnow() - exports.JOB_TIMEOUT - timedelta(minutes=1)
    session.commit()
    page = client.get(f"/admin/exports/{export.id}").get_data(as_text=True)
    assert 'id="export-retry"' in page
    r = client.post(
        f"/admin/exports/{export.id}/retry",
        data={"csrf_token": form_token(page)},
        follow_redirects=True,
    )
    assert "已重新排队导出。" in r.get_data(as_text=True)
    assert Queue("default", connection=redis_conn).job_ids == [f"export-{export.id}"]
    before = utcnow()
    assert export_jobs.run_export(export.id) == "done"
    done = export_row(session, export.id)
    assert done.status is ExportStatus.DONE and done.started_at >= before
    # done: a late run of the dead worker's job changes nothing
    assert export_jobs.run_export(export.id) == "nothing to do"
    assert export_row(session, export.id).file_sha256 == done.file_sha256


@pytest.mark.req("A6.2")
def test_a6_2_requeueing_with_the_task_queue_down_says_so_and_nothing_else(
    world, session, settings, monkeypatch
):
    export = start(session, world["admin"], "placements")

    def down(conn, export_id):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(export_views, "enqueue_export", down)
    client = admin_client(create_app(settings))
    page = client.get(f"/admin/exports/{export.id}").get_data(as_text=True)
    r = client.post(
        f"/admin/exports/{export.id}/retry",
        data={"csrf_token": form_token(page)},
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "任务队列暂时不可用" in html
    assert "已重新排队导出。" not in html
    assert export_row(session, export.id).status is ExportStatus.QUEUED


NOTE = "联系患者张三，电话13812345678"  # the name and number the masks hide elsewhere
CULTURE = "欧阳娜娜 尖端培养：表皮葡萄球菌"
REMOVAL_NOTE = "家属欧阳明 13900001111 要求拔管"
SECRETS = ("张三", PHONE, "欧阳娜娜", "欧阳明", "13900001111")


def cells(path, fmt) -> list[list]:
    return sheet_rows(path) if fmt == "xlsx" else csv_rows(path)


@pytest.mark.req("A6.2")
def test_a6_2_a_masked_export_leaves_out_the_free_text_and_a_full_one_keeps_it(
    world, session, settings, jobs
):
    admin = world["admin"]
    admin.may_export_identifiers = True
    session.add_all(
        [
            MaintenanceRecord(
                catheter_id=world["picc"].id,
                performed_at=local(2026, 3, 12, 9, 0),
                patency="PATENT",
                notes=NOTE,
            ),
            Removal(
                catheter_id=world["february"].id,
                removed_on=date(2026, 3, 20),
                reason="ACCIDENTAL",
                dwell_days=20,
                tip_culture_sent=True,
                tip_culture_result=CULTURE,
                notes=REMOVAL_NOTE,
            ),
        ]
    )
    session.commit()
    for fmt in ("xlsx", "csv"):
        for kind, left_out in (("maintenance", ["备注"]), ("removals", ["培养结果", "备注"])):
            masked = start(session, admin, kind, fmt=fmt)
            full = start(session, admin, kind, fmt=fmt, full=True, reason="医务处核查随访名单")
            for export in (masked, full):
                export_jobs.run_export(export.id)
            rows = cells(export_row(session, masked.id).file_path, fmt)
            text = repr(rows)
            assert [h for h in left_out if h in rows[0]] == [], (kind, fmt)
            assert [s for s in SECRETS if s in text] == [], (kind, fmt)
            got = dict(zip(rows[0], rows[1], strict=True))
            # the coded columns stay, the masked identifiers too
            assert got["患者姓名"] in ("张*", "欧**娜") and got["导管类型"] == "PICC"
            assert (got.get("通畅情况") or got.get("拔管原因")) in ("通畅", "意外/非计划拔管")

            rows = cells(export_row(session, full.id).file_path, fmt)
            got = dict(zip(rows[0], rows[1], strict=True))
            assert [h for h in left_out if h not in rows[0]] == []
            if kind == "maintenance":
                assert got["备注"] == NOTE and got["患者姓名"] == "张三"
            else:
                assert (got["培养结果"], got["备注"]) == (CULTURE, REMOVAL_NOTE)

    # the form and the masked export's page say so
    client = admin_client(create_app(settings))
    form = client.get("/admin/exports/new").get_data(as_text=True)
    assert "脱敏导出不含备注、培养结果等自由文本列" in form
    page = client.get(f"/admin/exports/{masked.id}").get_data(as_text=True)
    assert "培养结果、备注（脱敏导出不含备注等自由文本列" in page
    assert 'id="export-left-out"' not in client.get(f"/admin/exports/{full.id}").get_data(
        as_text=True
    )


def written_days_ago(session, export, days):
    """As though the export's file had been written ``days`` ago."""
    export = export_row(session, export.id)
    export.finished_at = utcnow() - timedelta(days=days)
    session.commit()


def expire_with(settings, session_factory, keep_days) -> str:
    """The hourly job run by a worker whose EXPORT_IDENTIFIED_KEEP_DAYS is ``keep_days``."""
    keeping = replace(settings, export_identified_keep_days=keep_days)
    container.install(bootstrap(keeping, session_factory=session_factory))
    return export_jobs.expire_identified_files()


@pytest.mark.req("A6.2")
def test_a6_2_a_full_identifier_file_is_deleted_after_its_keeping_period_and_the_row_stays(
    world, session, settings, session_factory, jobs
):
    admin = world["admin"]
    admin.may_export_identifiers = True
    session.commit()
    old = start(session, admin, "placements", full=True, reason="医务处核查随访名单")
    recent = start(session, admin, "placements", full=True, reason="医务处核查随访名单")
    masked = start(session, admin, "placements", fmt="csv")
    for export in (old, recent, masked):
        export_jobs.run_export(export.id)
    written_days_ago(session, old, 8)
    written_days_ago(session, recent, 6)
    written_days_ago(session, masked, 30)  # masked files: no keeping period of their own
    paths = {e.id: Path(export_row(session, e.id).file_path) for e in (old, recent, masked)}
    digest = export_row(session, old.id).file_sha256

    assert expire_with(settings, session_factory, 10) == "deleted 0 files"  # kept 10 days
    assert all(p.is_file() for p in paths.values())
    assert expire_with(settings, session_factory, 7) == "deleted 1 files"
    assert not paths[old.id].exists()
    assert paths[recent.id].is_file() and paths[masked.id].is_file()
    gone = export_row(session, old.id)
    assert (gone.status, gone.file_path, gone.file_sha256, gone.row_count) == (
        ExportStatus.DONE,
        None,
        digest,
        2,
    )
    assert gone.reason == "医务处核查随访名单"  # the log keeps who, what and why
    [entry] = audits(session, "expire")
    assert (entry.object_type, entry.object_id, entry.actor_id) == ("export", str(old.id), None)
    assert entry.detail["sha256"] == digest and entry.detail["keep_days"] == 7
    assert expire_with(settings, session_factory, 7) == "deleted 0 files"  # once only
    assert len(audits(session, "expire")) == 1

    # its download says why, with 410, and is audited like any refused download
    client = admin_client(create_app(settings))
    r = client.get(f"/admin/exports/{old.id}/download")
    assert r.status_code == 410
    assert "已超过保存期限，文件已删除，请重新导出" in r.get_data(as_text=True)
    [denied] = audits(session, "denied")
    assert (denied.object_id, denied.context) == (str(old.id), "export")
    assert denied.detail["wanted"] == "download" and denied.detail["expired"] is True
    assert audits(session, "download") == []
    assert client.get(f"/admin/exports/{recent.id}/download").status_code == 200
    # the page offers a new export of the same records instead of the file
    page = client.get(f"/admin/exports/{old.id}").get_data(as_text=True)
    assert 'id="export-expired"' in page and 'id="export-download"' not in page
    assert "kind=placements" in page and "start=2026-03-01" in page and "end=2026-04-01" in page
    page = client.get(f"/admin/exports/{recent.id}").get_data(as_text=True)
    assert 'id="export-download"' in page and "到期自动删除" in page
    listing = client.get("/admin/exports/").get_data(as_text=True)
    assert f'href="/admin/exports/{old.id}/download"' not in listing
    assert "文件已过保存期限删除" in listing


@pytest.mark.req("A6.2")
def test_a6_2_the_keeping_period_is_a_setting_and_the_scheduler_runs_the_sweep(
    tmp_path, redis_conn
):
    env = {"INSTANCE_PATH": str(tmp_path)}
    assert load_settings(env).export_identified_keep_days == 7
    assert (
        load_settings({**env, "EXPORT_IDENTIFIED_KEEP_DAYS": "30"}).export_identified_keep_days
        == 30
    )
    with pytest.raises(ConfigError, match="EXPORT_IDENTIFIED_KEEP_DAYS"):
        load_settings({**env, "EXPORT_IDENTIFIED_KEEP_DAYS": "a week"})
    hourly = [
        j.interval
        for j in scheduler.build(redis_conn)._cron_jobs
        if j.func is export_jobs.expire_identified_files
    ]
    assert hourly == [3600]
