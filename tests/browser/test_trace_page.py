"""In headless Chromium on a phone-sized page: from the catheter page, 一键溯源 shows the story
of the catheter across hospitals oldest first, and its PDF link downloads the report."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from server import create_app
from tests.support.outside_story import LOT, build
from tests.support.servers import serve

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def site(settings, engine, redis_conn, session, cipher):
    story = build(session, cipher)
    with serve(create_app(settings)) as url:
        yield url, story


@pytest.mark.req("A7.5")
def test_a7_5_trace_page_shows_the_events_in_order_and_the_pdf_downloads(site, page, tmp_path):
    url, story = site
    page.goto(f"{url}/login?next=/staff/catheters/{story.catheter.id}")
    page.fill("#login", "N001")
    page.fill("#password", "Nurse1234")
    page.click("button[type=submit]")
    page.click("text=一键溯源")
    page.locator("h1", has_text="一键溯源").wait_for()
    assert LOT in page.locator(".device .lot").inner_text()
    kinds = page.locator("li.event").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds[0] == "placement" and kinds[-1] == "removal" and len(kinds) == 12
    assert kinds.index("complication") < kinds.index("complication_step")
    assert kinds.index("consultation") < kinds.index("consultation_conclusion")
    first = page.locator("li.event").first.inner_text()
    assert "市第二人民医院" in first and "外院" in first and "王医生" in first
    assert "本院省人民医院" in page.locator("li.event").last.inner_text()
    # readable on a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    with page.expect_download() as download:
        page.click("#pdf")
    saved = tmp_path / "trace.pdf"
    download.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(saved).pages).replace("\n", "")
    assert "导管全程溯源报告" in text and LOT in text and "尖端培养阴性" in text
