"""Uploading report photos (P4.1): the request's size limit of this route, and photos chosen
with WeChat's own picker: inside WeChat the list page carries a ``wx.config`` signed for its
public address, and the media ids the JS-SDK uploaded are downloaded from WeChat (the
simulator) and kept like uploaded files."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import replace
from io import BytesIO

import pytest
from PIL import Image
from rq import Queue
from sqlalchemy import select

from bot.models import Report
from bot.models.enums import OcrStatus
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.integration.test_report_pages import follower, token, world  # noqa: F401
from tests.support.callbacks import sim_config
from tests.support.reports import photo

pytestmark = [pytest.mark.db, pytest.mark.redis]
WECHAT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50"


@pytest.fixture
def sim(settings, world):  # noqa: F811
    """The simulator as WeChat, and the app pointed at it."""
    with LiveSim(sim_config(settings)) as live:
        world["app"] = create_app(replace(settings, wechat_api_base=live.mp_api_base))
        yield live


@pytest.mark.req("P4.1")
def test_p4_1_in_wechat_the_list_page_is_signed_for_the_js_sdk_picker(
    world,  # noqa: F811
    settings,
    sim,
):
    client = follower(world)
    outside = client.get("/h5/reports").get_data(as_text=True)
    assert "wx.config" not in outside and "jweixin" not in outside  # a plain browser
    page = client.get("/h5/reports", headers={"User-Agent": WECHAT}).get_data(as_text=True)
    assert 'id="wx-pick"' in page and 'type="file"' in page  # the file input stays
    config = json.loads(re.search(r"var cfg = (\{.*?\}),", page).group(1))
    ticket = sim.state.tokens.jsapi_ticket()
    signed = (
        f"jsapi_ticket={ticket}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}"
        f"&url={settings.public_base_url}/h5/reports"
    )
    assert config["appId"] == settings.wechat_mp_appid
    assert config["signature"] == hashlib.sha1(signed.encode()).hexdigest()


@pytest.mark.req("P4.1")
def test_p4_1_photos_chosen_in_wechat_are_downloaded_by_media_id_and_read(
    world,  # noqa: F811
    session_factory,
    redis_conn,
    sim,
):
    good = sim.state.media.put("mp", photo("微信拍的"), "image/jpeg")["media_id"]
    gif = sim.state.media.put("mp", photo("动图", fmt="GIF"), "image/gif")["media_id"]
    client = follower(world)
    data = {"csrf_token": token(client), "media_ids": [good, gif, "expired-id"]}
    r = client.post("/h5/reports/upload-wechat", data=data)
    assert r.status_code == 302
    page = client.get("/h5/reports").get_data(as_text=True)
    assert "已收到1张报告，正在识别…" in page
    assert "第2张：不支持动图（GIF）" in page
    assert "第3张：照片没有从微信收到（可能已过期），请重新选择" in page
    with session_factory() as s:
        [new] = s.scalars(select(Report).where(Report.id > world["foreign_other"])).all()
        assert new.ocr_status is OcrStatus.PENDING and new.image_path.endswith(".jpg")
    assert Queue("reports", connection=redis_conn).job_ids == [f"report-{new.id}"]
    refused = client.post("/h5/reports/upload-wechat", data={"media_ids": [good]})
    assert refused.status_code == 400  # no CSRF token


@pytest.mark.req("P4.1")
def test_p4_1_several_photos_may_exceed_the_apps_limit_but_not_the_routes_own(
    world,  # noqa: F811
    session_factory,
    monkeypatch,
):
    import h5.reports

    client = follower(world)
    noise = [Image.frombytes("RGB", (1600, 1500), os.urandom(1600 * 1500 * 3)) for _ in "ab"]
    photos = []
    for n, image in enumerate(noise):
        buf = BytesIO()
        image.save(buf, "PNG")  # noise does not compress: about 7 MB each
        photos.append((buf.getvalue(), f"{n}.png"))
    assert sum(len(p) for p, _ in photos) > world["app"].config["MAX_CONTENT_LENGTH"]
    data = {"csrf_token": token(client), "photos": [(BytesIO(p), n) for p, n in photos]}
    r = client.post("/h5/reports/upload", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    assert "已收到2张报告" in client.get("/h5/reports").get_data(as_text=True)
    monkeypatch.setattr(h5.reports, "UPLOAD_LIMIT", len(photos[0][0]))
    data = {"csrf_token": token(client), "photos": [(BytesIO(p), n) for p, n in photos]}
    r = client.post("/h5/reports/upload", data=data, content_type="multipart/form-data")
    assert r.status_code == 413 and "一次上传的照片合计不能超过" in r.get_data(as_text=True)
    with session_factory() as s:
        assert len(s.scalars(select(Report)).all()) == 10
