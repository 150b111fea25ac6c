"""In headless Chromium: an administrator opens 统计看板, changes the period to March 2026, sees
the numbers counted by hand and the charts drawn, exports the device-mix table as XLSX (the
export job runs in a real worker, the file is opened with openpyxl), and finds the export in
the export log and, pushed by the worker, on the low-code platform's simulator."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from openpyxl import load_workbook

from devtools.lowcode_sim import DEV_API_KEY, LowcodeState, create_lowcode_sim_app
from server import create_app
from tests.integration.test_dashboard import build_march
from tests.support.processes import product_env, wait_until, worker
from tests.support.servers import serve
from tests.support.web_clients import ADMIN_NO, ADMIN_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]

# the form a dashboard table's rows go to when LOWCODE_FORMS does not map it (docs/low-code.md)
ROWS_FORM = "table_device_mix"
LOADED = "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0 }"


@pytest.fixture
def site(settings, engine, redis_conn, session, tmp_path):
    built = build_march(session)
    state = LowcodeState()
    with serve(create_lowcode_sim_app(state)) as lowcode:
        live = replace(settings, lowcode_base_url=lowcode, lowcode_api_key=DEV_API_KEY)
        env = product_env(
            settings,
            tmp_path / "instance",
            LOWCODE_BASE_URL=lowcode,
            LOWCODE_API_KEY=DEV_API_KEY,
        )
        with worker(env), serve(create_app(live)) as url:
            yield url, lowcode, built


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/login?next=/admin/dashboard/")
    page.fill("#login", ADMIN_NO)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.locator("h2", has_text="统计看板").wait_for()


def card_value(page, code: str) -> str:
    return page.locator(f'.indicator[data-code="{code}"] .value').inner_text().strip()


@pytest.mark.req("A6.1", "A6.2", "A7.6")
def test_a6_1_an_administrator_reads_the_dashboard_exports_a_table_and_finds_it_everywhere(
    site, browser, tmp_path
):
    url, lowcode, _ = site
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, url)

    # the period: March 2026 instead of this month
    page.fill("#start", "2026-03-01")
    page.fill("#to", "2026-03-31")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_url("**start=2026-03-01**")
    assert "2026-03-01 至 2026-03-31" in page.locator("#period").inner_text()
    assert card_value(page, "placements") == "4"
    assert card_value(page, "catheter_days") == "58"
    assert card_value(page, "unplanned_removal_picc") == "31.25‰"

    # the charts are drawn (an image the browser decoded, not a broken one)
    for chart in ("monthly", "device_mix", "complications_by_type"):
        page.wait_for_function(LOADED, arg=f"chart-{chart}")
        assert page.eval_on_selector(f"#chart-{chart}", "i => i.naturalWidth") > 300

    # export the device mix of March as XLSX from the table beside its chart
    page.click("#table-device_mix a.export-xlsx")
    page.locator("#export-form").wait_for()
    assert page.input_value("#kind") == "table:device_mix"
    assert page.input_value("#start") == "2026-03-01"
    assert page.input_value("#to") == "2026-03-31"
    page.click("#start-export")
    download_link = page.locator("#export-download")
    download_link.wait_for(timeout=60_000)  # the page polls the job and reloads when done
    export_id = int(page.url.rstrip("/").split("/")[-1])
    with page.expect_download() as download:
        download_link.click()
    saved = tmp_path / "device_mix.xlsx"
    download.value.save_as(saved)
    sheet = load_workbook(saved, read_only=True).worksheets[0]
    rows = {r[0]: list(r[1:4]) for r in sheet.iter_rows(values_only=True) if r and r[0]}
    # 置管例数, 期末在位, 导管日数 in March, by hand (tests/integration/test_dashboard.py)
    assert rows["PICC"] == [2, 1, 32]
    assert rows["输液港"] == [1, 1, 12]
    assert rows["CVC"] == [0, 0, 4]
    assert rows["中线导管"] == [1, 0, 10]

    # the export log lists it
    page.goto(f"{url}/admin/exports/")
    logged = page.locator(f'#export-log tr[data-export-id="{export_id}"]')
    assert "XLSX" in logged.inner_text() and "王管理" in logged.inner_text()

    # and the worker pushed it to the low-code platform: its record, then the table's rows
    def pushed() -> list:
        found = requests.get(f"{lowcode}/_sim/records", params={"form": "exports"}, timeout=5)
        return found.json()["records"]

    [record] = wait_until(pushed, timeout=60, what="the export on the low-code platform")
    assert record["data"]["export_id"] == export_id
    assert record["data"]["kind"] == "table:device_mix"
    assert record["data"]["staff_name"] == "王管理"
    table_rows = requests.get(
        f"{lowcode}/_sim/records", params={"form": ROWS_FORM}, timeout=5
    ).json()["records"]
    assert any(r["data"].get("导管类型") == "PICC" for r in table_rows)
    # the simulator's own page shows it to a person
    page.goto(f"{lowcode}/?form=exports")
    assert record["record_id"] in page.content()
    page.goto(f"{url}/admin/exports/{export_id}")

    def says_pushed() -> bool:
        page.reload()
        return "已推送" in page.locator("#export-lowcode").inner_text()

    wait_until(says_pushed, timeout=30, what="the export page to say it was pushed")
    context.close()
    assert not errors, errors
