"""The low-code platform (A7.6): exports pushed through the production client to the platform
simulator (devtools/lowcode_sim) over HTTP — the export's own record, then its rows in batches of
100, the platform's record ids stored back; nothing kept twice; the platform down → failed with
its message, tried again later from the failed batch; a rejection waits for an administrator's
重试 in the admin web; the monthly indicator set once a month."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
import requests
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from sqlalchemy import select

import admin.lowcode as lowcode_views
from admin.dashboard_query import preset_period
from bot import container
from bot.jobs import exports as export_jobs
from bot.jobs import lowcode as jobs
from bot.models import AuditLog, ExportLog, LowcodeBatch, utcnow
from bot.models.enums import ExportStatus
from bot.services import exports, lowcode
from bot.services.stats import Filters
from bot.services.stats.periods import previous_month
from devtools.lowcode_sim import DEV_API_KEY, LowcodeState, create_lowcode_sim_app
from server import bootstrap, create_app
from tests.integration import test_staff_web
from tests.integration.test_staff_web import sign_in
from tests.support.servers import serve

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.req("A7.6")]
people = test_staff_web.people  # 本院, an administrator (A001 王管理) and a nurse


@pytest.fixture
def sim():
    state = LowcodeState()
    with serve(create_lowcode_sim_app(state)) as url:
        yield state, url


@pytest.fixture
def ctx(settings, session_factory, redis_conn, sim, tmp_path):
    """The worker's container, its platform the simulator and its media under tmp_path."""
    _, url = sim
    configured = replace(
        settings,
        lowcode_base_url=url,
        lowcode_api_key=DEV_API_KEY,
        media_root=tmp_path / "media",
    )
    c = bootstrap(configured, session_factory=session_factory)
    container.install(c)
    yield c
    container.install(None)


def make_export(
    ctx, session, staff, rows: int = 250, kind: str = "placements", full: bool = False
) -> ExportLog:
    """A finished CSV export of ``rows`` rows, as the export job leaves it (``full``: with
    identifiers in full)."""
    folder = ctx.settings.media_root / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{rows}.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f)
        out.writerow(["序号", "导管类型", "置管日期"])
        for n in range(1, rows + 1):
            out.writerow([n, "PICC" if n % 2 else "PORT", f"2026-11-{n % 28 + 1:02d}"])
    export = ExportLog(
        staff_id=staff.id,
        kind=kind,
        params={"start": "2026-11-01", "end": "2026-12-01"},
        format="csv",
        status=ExportStatus.DONE,
        row_count=rows,
        rows_written=rows,
        file_path=f"exports/{path.name}",
        file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        finished_at=utcnow(),
        full_identifiers=full,
        reason="医务处核查随访名单" if full else None,
    )
    session.add(export)
    session.commit()
    return export


def push_through(ctx, session, platform, export_id: int, now=utcnow) -> lowcode.PushResult:
    """``lowcode.push`` through another platform (one that breaks, or a slow one)."""
    return lowcode.push(
        session,
        platform,
        export_id,
        media_root=ctx.settings.media_root,
        tz=ctx.settings.timezone,
        now=now,
    )


def kept(url: str, form: str) -> list[dict]:
    return requests.get(f"{url}/_sim/records", params={"form": form}, timeout=5).json()["records"]


def sent(url: str) -> list[str]:
    """The transaction ids of the platform's requests, in order."""
    made = requests.get(f"{url}/_sim/requests", timeout=5).json()["requests"]
    return [r["transaction_id"] for r in made]


def fail(url: str, **how) -> None:
    requests.post(f"{url}/_sim/fail", json=how, timeout=5).raise_for_status()


def reload(session, export_id: int) -> ExportLog:
    session.expire_all()
    return session.get(ExportLog, export_id)


def batches(session, export_id: int) -> list[LowcodeBatch]:
    session.expire_all()
    return list(
        session.scalars(select(LowcodeBatch).filter_by(export_id=export_id).order_by("seq"))
    )


def test_a7_6_an_export_of_250_rows_goes_as_its_record_and_three_batches(ctx, sim, session, people):
    _, url = sim
    export = make_export(ctx, session, people["admin"])
    assert jobs.push_export(export.id).startswith(f"export {export.id} done, 4 batches sent")

    [record] = kept(url, "exports")
    rows = kept(url, "placements")
    assert len(rows) == 250
    assert [r["data"]["序号"] for r in rows] == [str(n) for n in range(1, 251)]
    assert rows[0]["data"] == {"序号": "1", "导管类型": "PICC", "置管日期": "2026-11-02"}
    data = record["data"]
    assert (data["export_id"], data["kind"], data["format"]) == (export.id, "placements", "csv")
    assert (data["staff_no"], data["staff_name"]) == ("A001", "王管理")
    assert data["row_count"] == 250 and data["file_sha256"] == export.file_sha256
    assert data["full_identifiers"] is False and data["reason"] is None
    assert '"start": "2026-11-01"' in data["filters"]

    done = reload(session, export.id)
    assert done.lowcode_status == "done" and done.lowcode_pushed_at is not None
    assert done.lowcode_record_id == record["record_id"]
    assert done.lowcode_error is None and done.lowcode_next_attempt_at is None
    got = batches(session, export.id)
    assert [(b.seq, b.row_count, b.status) for b in got] == [
        (0, 1, "done"),
        (1, 100, "done"),
        (2, 100, "done"),
        (3, 50, "done"),
    ]
    sha = export.file_sha256[:12]
    assert [b.transaction_id for b in got] == [
        f"vam-export-{export.id}-{n}-{sha}" for n in range(4)
    ]
    # the platform's ids are kept per batch, in the rows' order
    assert got[1].record_ids == [r["record_id"] for r in rows[:100]]
    assert got[3].record_ids == [r["record_id"] for r in rows[200:]]
    [entry] = session.scalars(select(AuditLog).where(AuditLog.context == "lowcode")).all()
    assert (entry.action, entry.object_id) == ("export", str(export.id))
    assert entry.detail["status"] == "done" and entry.detail["batches_sent"] == 4


def test_a7_6_an_xlsx_export_is_read_back_from_every_sheet(ctx, sim, session, people):
    from openpyxl import Workbook

    _, url = sim
    path = ctx.settings.media_root / "exports" / "9-maintenance.xlsx"
    path.parent.mkdir(parents=True)
    book = Workbook(write_only=True)
    for sheet_no, numbers in enumerate((range(1, 121), range(121, 131))):
        sheet = book.create_sheet(f"维护记录{sheet_no or ''}")
        sheet.append(["序号", "维护日期", "外露长度cm"])
        for n in numbers:
            sheet.append([n, date(2026, 11, 1) + timedelta(days=n % 30), 2.5])
    book.save(path)
    export = ExportLog(
        staff_id=people["admin"].id,
        kind="maintenance",
        format="xlsx",
        status=ExportStatus.DONE,
        row_count=130,
        file_path=str(path),  # the export job keeps the full path
        file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    session.add(export)
    session.commit()
    jobs.push_export(export.id)
    rows = [r["data"] for r in kept(url, "maintenance")]
    assert [r["序号"] for r in rows] == list(range(1, 131))  # 120 + 10, no header in between
    assert rows[0] == {"序号": 1, "维护日期": "2026-11-02T00:00:00", "外露长度cm": 2.5}
    assert [b.row_count for b in batches(session, export.id)] == [1, 100, 30]


def test_a7_6_a_changed_file_is_not_pushed(ctx, sim, session, people):
    _, url = sim
    export = make_export(ctx, session, people["admin"], rows=5)
    with (ctx.settings.media_root / export.file_path).open("a", encoding="utf-8") as f:
        f.write("6,PICC,2026-11-30\r\n")
    jobs.push_export(export.id)
    changed = reload(session, export.id)
    assert changed.lowcode_status == "failed" and changed.lowcode_next_attempt_at is None
    assert changed.lowcode_error == "导出文件 placements-5.csv 与登记的哈希不一致，文件已被改动"
    assert sent(url) == []  # not even the export's own record


def test_a7_6_pushing_again_sends_nothing_twice(ctx, sim, session, people):
    _, url = sim
    export = make_export(ctx, session, people["admin"])
    jobs.push_export(export.id)
    jobs.push_export(export.id)
    assert len(sent(url)) == 4  # the second run found the export done
    # even pushed by hand from the start, every batch is a transaction the platform has kept
    for b in batches(session, export.id):
        b.status = "pending"
    reload(session, export.id).lowcode_status = "failed"
    session.commit()
    jobs.push_export(export.id)
    assert len(sent(url)) == 8
    assert len(kept(url, "placements")) == 250 and len(kept(url, "exports")) == 1


def test_a7_6_platform_down_fails_with_its_message_then_resumes_from_the_failed_batch(
    ctx, sim, session, people, redis_conn
):
    _, url = sim
    export = make_export(ctx, session, people["admin"])
    fail(url, status=503, message="平台维护中", code=50301, after=2)  # the record and 1–100 pass
    before = utcnow()
    assert "failed" in jobs.push_export(export.id)

    failed = reload(session, export.id)
    assert failed.lowcode_status == "failed"
    assert failed.lowcode_error == "平台维护中（HTTP 503，错误码 50301）"
    assert failed.lowcode_attempts == 1
    # first retry 5 minutes later
    wait = failed.lowcode_next_attempt_at - before
    assert timedelta(minutes=5) <= wait < timedelta(minutes=5, seconds=30)
    assert [(b.seq, b.status) for b in batches(session, export.id)] == [
        (0, "done"),
        (1, "done"),
        (2, "failed"),
    ]
    assert len(kept(url, "placements")) == 100

    # not due yet: the sweep queues nothing; due: it queues the push
    assert jobs.retry_due_pushes() == "0 pushes queued again"
    failed.lowcode_next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert jobs.retry_due_pushes() == "1 pushes queued again"
    assert f"lowcode-push-{export.id}" in Queue("default", connection=redis_conn).job_ids

    jobs.push_export(export.id)
    done = reload(session, export.id)
    assert done.lowcode_status == "done" and done.lowcode_error is None
    tx = sent(url)
    # the record and batch 1 once; batch 2 twice (refused, then kept); batch 3 once
    assert [t.split("-")[3] for t in tx] == ["0", "1", "2", "2", "3"]
    assert len(kept(url, "placements")) == 250


def test_a7_6_a_batch_whose_answer_was_lost_is_kept_once(ctx, sim, session, people):
    _, url = sim
    export = make_export(ctx, session, people["admin"])
    # the platform keeps batch 1, and its answer is lost (a gateway timeout)
    fail(url, status=504, message="网关超时", after=1, keep=True)
    jobs.push_export(export.id)
    assert reload(session, export.id).lowcode_status == "failed"
    assert len(kept(url, "placements")) == 100
    jobs.push_export(export.id)
    assert reload(session, export.id).lowcode_status == "done"
    assert len(kept(url, "placements")) == 250  # not 350


def test_a7_6_a_rejected_batch_waits_for_an_administrator(ctx, sim, session, people):
    _, url = sim
    export = make_export(ctx, session, people["admin"])
    fail(url, status=400, message="字段“置管日期”格式错误", code=40010, after=1)
    jobs.push_export(export.id)
    rejected = reload(session, export.id)
    assert rejected.lowcode_status == "failed"
    assert rejected.lowcode_error == "字段“置管日期”格式错误（HTTP 400，错误码 40010）"
    assert rejected.lowcode_next_attempt_at is None  # not retried by itself
    rejected_at = utcnow()
    assert lowcode.due_pushes(session, rejected_at + timedelta(days=30)) == []


def test_a7_6_a_bad_key_is_shown_with_the_platforms_message(ctx, sim, session, people):
    export = make_export(ctx, session, people["admin"], rows=3)
    ctx.lowcode.api_key = "wrong-key"
    jobs.push_export(export.id)
    refused = reload(session, export.id)
    assert refused.lowcode_status == "failed"
    assert refused.lowcode_error == "API 密钥无效或缺失（HTTP 401，错误码 40101）"
    assert refused.lowcode_next_attempt_at is None and refused.lowcode_record_id is None


def test_a7_6_nothing_is_queued_when_the_platform_is_not_configured(
    settings, session, people, redis_conn
):
    unconfigured = replace(settings, lowcode_base_url="", lowcode_api_key="")
    assert jobs.enqueue_push(redis_conn, 1, unconfigured) is False
    assert Queue("default", connection=redis_conn).job_ids == []


def test_a7_6_the_export_job_queues_the_push(ctx, redis_conn):
    assert jobs.enqueue_push(redis_conn, 42) is True
    assert Queue("default", connection=redis_conn).job_ids == ["lowcode-push-42"]


def test_a7_6_the_monthly_indicator_set_is_pushed_once_a_month(ctx, sim, session, redis_conn):
    _, url = sim
    first = jobs.record_monthly_indicators(ctx, date(2026, 12, 3))
    assert jobs.record_monthly_indicators(ctx, date(2026, 12, 20)) is None  # same month
    export = reload(session, first)
    assert (export.kind, export.format, export.staff_id) == ("indicators_monthly", "json", None)
    assert export.rq_job_id == "lowcode-monthly-2026-11"
    assert export.params["start"] == "2026-11-01" and export.params["end"] == "2026-12-01"
    jobs.push_export(first)
    rows = kept(url, "indicators_monthly")
    assert len(rows) == export.row_count > 0
    assert {r["data"]["period"] for r in rows} == {"2026-11"}
    [record] = kept(url, "exports")
    assert record["data"]["staff_name"] == "系统（定时任务）"
    assert reload(session, first).lowcode_status == "done"
    # January takes December of the year before; the dashboard's 上月 is the same month
    assert previous_month(date(2027, 1, 1)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert preset_period("last_month", date(2027, 1, 15)) == previous_month(date(2027, 1, 15))
    assert export.file_sha256 == exports.sha256(ctx.settings.media_root / export.file_path)


def test_a7_6_the_monthly_indicator_set_is_downloaded_from_the_export_log(ctx, session, people):
    """Its file is named under MEDIA_ROOT (a relative path), not by where the server runs."""
    export_id = jobs.record_monthly_indicators(ctx, date(2026, 12, 3))
    export = reload(session, export_id)
    assert not export.file_path.startswith("/")
    client = create_app(ctx.settings, container=ctx).test_client()
    sign_in(client, "A001", "Admin1234")
    download = client.get(f"/admin/exports/{export_id}/download")
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == export.file_sha256


def test_a7_6_the_admin_page_lists_a_failed_push_first_and_retries_it(
    ctx, sim, session, people, redis_conn
):
    _, url = sim
    ok = make_export(ctx, session, people["admin"], rows=3, kind="removals")
    jobs.push_export(ok.id)
    export = make_export(ctx, session, people["admin"], rows=150)
    fail(url, status=400, message="表单已停用", code=40401, after=1)
    jobs.push_export(export.id)

    client = create_app(ctx.settings, container=ctx).test_client()
    sign_in(client, "A001", "Admin1234")
    page = client.get("/admin/lowcode/").get_data(as_text=True)
    listed = re.findall(r'data-export="(\d+)"', page)
    assert listed == [str(export.id), str(ok.id)]  # the failed one first
    assert "表单已停用（HTTP 400，错误码 40401）" in page
    assert "1 / 3" in page  # its own record went, rows 1–100 and 101–150 did not
    assert "不自动重试" in page

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/lowcode/{export.id}/retry").status_code == 400  # no CSRF
    res = client.post(f"/admin/lowcode/{export.id}/retry", data={"csrf_token": token})
    assert res.status_code == 302
    assert f"lowcode-push-{export.id}" in Queue("default", connection=redis_conn).job_ids
    assert reload(session, export.id).lowcode_status == "pending"
    jobs.push_export(export.id)
    assert reload(session, export.id).lowcode_status == "done"
    assert len(kept(url, "placements")) == 150


def test_a7_6_the_admin_page_is_for_administrators_only(ctx, people):
    client = create_app(ctx.settings, container=ctx).test_client()
    sign_in(client, "N001", "Nurse1234")
    assert client.get("/admin/lowcode/").status_code == 403


def test_a7_6_a_full_identifier_export_sends_its_record_and_never_its_rows(
    ctx, sim, session, people
):
    _, url = sim
    export = make_export(ctx, session, people["admin"], rows=150, full=True)
    assert lowcode.total_batches(export) == 1
    assert jobs.push_export(export.id).startswith(f"export {export.id} done, 1 batches sent")
    [record] = kept(url, "exports")
    data = record["data"]
    assert data["full_identifiers"] is True and data["reason"] == "医务处核查随访名单"
    assert data["rows_withheld"] == "含完整身份信息，行数据未推送至平台"
    assert data["row_count"] == 150 and data["file_sha256"] == export.file_sha256
    assert kept(url, "placements") == []
    assert len(sent(url)) == 1
    done = reload(session, export.id)
    assert done.lowcode_status == "done" and done.lowcode_record_id == record["record_id"]
    assert [(b.seq, b.row_count, b.status) for b in batches(session, export.id)] == [(0, 1, "done")]
    # a masked export says nothing is withheld
    masked = make_export(ctx, session, people["admin"], rows=3, kind="removals")
    jobs.push_export(masked.id)
    assert [r["data"]["rows_withheld"] for r in kept(url, "exports")] == [
        "含完整身份信息，行数据未推送至平台",
        None,
    ]
    assert len(kept(url, "removals")) == 3


def test_a7_6_a_full_identifier_export_whose_file_was_deleted_still_sends_its_record(
    ctx, sim, session, people
):
    """Its file is deleted after the keeping period (exports.retention); the record, all the
    platform ever gets of it, does not need the file."""
    _, url = sim
    export = make_export(ctx, session, people["admin"], rows=5, full=True)
    (ctx.settings.media_root / export.file_path).unlink()
    export.file_path = None
    session.commit()
    assert jobs.push_export(export.id).startswith(f"export {export.id} done, 1 batches sent")
    [record] = kept(url, "exports")
    assert record["data"]["file_sha256"] == export.file_sha256
    assert reload(session, export.id).lowcode_status == "done"


def test_a7_6_an_export_whose_push_could_not_be_queued_is_pending_and_swept(
    ctx, session, people, monkeypatch
):
    def down(conn, export_id, settings=None):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(export_jobs, "enqueue_push", down)
    export = exports.start_export(
        session,
        people["admin"],
        "placements",
        Filters(date(2026, 11, 1), date(2026, 12, 1)),
        "csv",
        full_identifiers=False,
        reason=None,
        max_rows=100,
        tz=ctx.settings.timezone,
    )
    session.commit()
    assert export_jobs.run_export(export.id) == "done"
    waiting = reload(session, export.id)
    assert waiting.status is ExportStatus.DONE and waiting.lowcode_status == "pending"
    assert [e.id for e in lowcode.pushes(session)] == [export.id]  # shown on the admin page
    now = utcnow()
    assert lowcode.due_pushes(session, now) == []  # its job may still be starting
    assert lowcode.due_pushes(session, now + timedelta(minutes=11)) == [export.id]


def test_a7_6_an_unexpected_error_fails_the_push_with_a_message_and_is_retried(
    ctx, sim, session, people
):
    _, url = sim
    export = make_export(ctx, session, people["admin"], rows=250)

    class Broken:
        calls = 0

        def create_records(self, form, rows, transaction_id):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("列表越界")
            return ctx.lowcode.create_records(form, rows, transaction_id)

    started = utcnow()
    result = push_through(ctx, session, Broken(), export.id, utcnow)
    assert result.status == "failed"
    failed = reload(session, export.id)
    assert failed.lowcode_status == "failed" and failed.lowcode_attempts == 1
    assert failed.lowcode_error == "推送时发生意外错误（RuntimeError：列表越界）"
    assert failed.lowcode_next_attempt_at - started >= timedelta(minutes=5)  # tried again
    assert [(b.seq, b.status) for b in batches(session, export.id)] == [(0, "done"), (1, "done")]
    jobs.push_export(export.id)
    assert reload(session, export.id).lowcode_status == "done"
    assert len(kept(url, "placements")) == 250


def test_a7_6_a_long_push_keeps_its_stale_stamp_ahead_of_the_clock(ctx, sim, session, people):
    """A push taking longer than STALE is not picked up by the sweep while it goes on."""
    export = make_export(ctx, session, people["admin"], rows=450)
    clock = [utcnow()]
    seen = []

    def now():
        return clock[0]

    class Slow:
        def create_records(self, form, rows, transaction_id):
            clock[0] += timedelta(minutes=20)  # each batch takes 20 minutes
            with ctx.session_factory() as other:
                seen.append(lowcode.due_pushes(other, clock[0]))
            return ctx.lowcode.create_records(form, rows, transaction_id)

    result = push_through(ctx, session, Slow(), export.id, now)
    assert result.status == "done" and result.sent == 6
    assert seen == [[]] * 6


def test_a7_6_retry_with_the_task_queue_down_keeps_the_push_pending(
    ctx, sim, session, people, monkeypatch
):
    _, url = sim
    export = make_export(ctx, session, people["admin"], rows=3)
    fail(url, status=400, message="表单已停用", code=40401)
    jobs.push_export(export.id)

    def down(conn, export_id, settings=None):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(lowcode_views, "enqueue_push", down)
    client = create_app(ctx.settings, container=ctx).test_client()
    sign_in(client, "A001", "Admin1234")
    page = client.get("/admin/lowcode/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(
        f"/admin/lowcode/{export.id}/retry", data={"csrf_token": token}, follow_redirects=True
    )
    assert r.status_code == 200
    assert "任务队列暂时不可用，请稍后重试" in r.get_data(as_text=True)
    pending = reload(session, export.id)
    assert pending.lowcode_status == "pending"
    assert lowcode.due_pushes(session, utcnow() + timedelta(minutes=11)) == [export.id]
