"""Nearby institutions (P5.1): the geocoder against the Tencent Location Service simulator,
the list by device type and distance, the patient's H5 page (position, district, outside
China) and the chat answer."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import replace
from datetime import timedelta

import pytest
import requests

from bot.adapters.lbs import GEOCODER_PATH, CachedGeocoder, LbsError, TencentGeocoder
from bot.models import (
    Agreement,
    Catheter,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import AgreementKind, CatheterState
from bot.services import directory
from devtools.lbs_sim import DEV_KEY, DEV_SECRET_KEY, LbsState, create_lbs_sim_app
from nlu.actions import patient as patient_actions
from server import create_app
from tests.integration.test_actions import run, texts, tracker
from tests.support.servers import serve

pytestmark = [pytest.mark.db]

# One degree of latitude along a meridian is R·π/180 km; 0.01° = 1.112 km (haversine, R 6371)
KM_PER_CENTIDEGREE = 6371.0 * math.pi / 180 / 100
HOME = (30.00, 120.00)  # where the patient stands


@pytest.fixture
def lbs():
    """The simulator with SN verification on, and a client for it."""
    state = LbsState()
    with serve(create_lbs_sim_app(state)) as url:
        yield state, url


# ---- the geocoder -------------------------------------------------------------------------


@pytest.mark.req("P5.1", "A3.1")
def test_a3_1_the_geocoder_finds_a_known_address_with_a_valid_signature(lbs):
    state, url = lbs
    found = TencentGeocoder(url, DEV_KEY, DEV_SECRET_KEY).geocode(
        "浙江省杭州市西湖区文三路318号", region="杭州市"
    )
    assert (found.latitude, found.longitude) == (30.2786, 120.1251)
    assert (found.city, found.district) == ("杭州市", "西湖区")
    [call] = state.calls
    params = call["params"]
    assert call["path"] == GEOCODER_PATH and params["key"] == DEV_KEY
    # the documented rule, computed here by hand: path ? sorted k=v (raw values) + SK, md5
    raw = f"{GEOCODER_PATH}?address={params['address']}&key={DEV_KEY}&region=杭州市{DEV_SECRET_KEY}"
    assert params["sig"] == hashlib.md5(raw.encode()).hexdigest()


@pytest.mark.req("A3.1")
def test_a3_1_an_unknown_address_a_bad_key_and_a_bad_signature_are_told_in_chinese(lbs):
    state, url = lbs
    with pytest.raises(LbsError) as unknown:
        TencentGeocoder(url, DEV_KEY, DEV_SECRET_KEY).geocode("火星基地1号")
    assert unknown.value.status == 347 and "未能解析该地址" in unknown.value.message
    with pytest.raises(LbsError) as bad_key:
        TencentGeocoder(url, "WRONG-KEY", DEV_SECRET_KEY).geocode("文三路318号")
    assert bad_key.value.status == 311 and "LBS_KEY" in bad_key.value.message
    with pytest.raises(LbsError) as bad_sig:
        TencentGeocoder(url, DEV_KEY, "another-secret").geocode("文三路318号")
    assert bad_sig.value.status == 111 and "签名" in bad_sig.value.message
    with pytest.raises(LbsError) as unsigned:
        TencentGeocoder(url, DEV_KEY).geocode("文三路318号")  # SN verification is on
    assert unsigned.value.status == 111
    requests.post(f"{url}/_sim/fail", json={"status": 121}, timeout=5)
    with pytest.raises(LbsError) as daily:
        TencentGeocoder(url, DEV_KEY, DEV_SECRET_KEY).geocode("文三路318号")
    assert daily.value.status == 121 and "今日调用量已达上限" in daily.value.message


def test_a3_1_an_unreachable_geocoder_is_an_error_not_a_hang():
    with pytest.raises(LbsError) as down:
        TencentGeocoder("http://127.0.0.1:9", DEV_KEY).geocode("文三路318号")
    assert down.value.status is None and down.value.retryable


# ---- the list -----------------------------------------------------------------------------


@pytest.fixture
def places(session):
    """Institutions due north of the patient, at distances computed by hand."""

    def at(code, name, centidegrees, devices, **kw):
        lat = None if centidegrees is None else HOME[0] + centidegrees / 100
        return Institution(
            code=code,
            name=name,
            latitude=lat,
            longitude=None if lat is None else HOME[1],
            device_types=devices,
            services=["PICC_MAINT"] if "PICC" in devices else ["PORT_MAINT"],
            phone="0571-88000000",
            **kw,
        )

    rows = [
        at("A", "两公里PICC门诊", 2, ["PICC", "CVC"], district="西湖区", address="西湖区文三路1号"),
        at("B", "一公里输液港门诊", 1, ["PORT"], district="西湖区"),
        at("C", "五公里PICC门诊", 5, ["PICC"], district="拱墅区"),
        at("D", "没有坐标的PICC门诊", None, ["PICC"], district="西湖区", address="西湖区某路"),
        at("E", "停用的PICC门诊", 0.1, ["PICC"], active=False, district="西湖区"),
        at("F", "不做维护的诊所", 0.2, [], district="西湖区"),
    ]
    session.add_all(rows)
    session.commit()
    return {r.code: r.id for r in rows}


@pytest.mark.req("P5.1")
def test_p5_1_nearby_lists_institutions_for_the_device_type_nearest_first(session, places):
    picc = directory.nearby(session, *HOME, device_types=["PICC"], limit=None)
    assert [p.name for p in picc] == ["两公里PICC门诊", "五公里PICC门诊"]
    assert picc[0].distance_km == pytest.approx(2 * KM_PER_CENTIDEGREE, abs=0.001)
    assert picc[1].distance_km == pytest.approx(5 * KM_PER_CENTIDEGREE, abs=0.001)
    port = directory.nearby(session, *HOME, device_types=["PORT"], limit=None)
    assert [p.name for p in port] == ["一公里输液港门诊"]
    every = directory.nearby(session, *HOME, limit=None)  # no catheter in place: all types
    assert [p.name for p in every] == ["一公里输液港门诊", "两公里PICC门诊", "五公里PICC门诊"]


@pytest.mark.req("P5.1")
def test_p5_1_an_institution_without_coordinates_is_found_by_district_only(session, places):
    assert "没有坐标的PICC门诊" not in [p.name for p in directory.nearby(session, *HOME)]
    by_district = directory.in_district(session, "西湖区", device_types=["PICC"])
    assert [p.name for p in by_district] == ["两公里PICC门诊", "没有坐标的PICC门诊"]
    assert all(p.distance_km is None for p in by_district)
    assert [p.name for p in directory.in_district(session, "文三路")] == ["两公里PICC门诊"]


# ---- the H5 page --------------------------------------------------------------------------


def add_follower(session, openid: str, name: str, device_type: str | None) -> PatientAccount:
    """A follower whose active 就诊人 has a catheter of ``device_type`` in place (committed)."""
    patient, account = Patient(name=name), PatientAccount(openid=openid)
    session.add_all([patient, account])
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=patient.id, relation="本人")
    session.add(profile)
    session.flush()
    account.active_profile_id = profile.id
    if device_type:
        session.add(
            Catheter(
                patient_id=patient.id,
                device_type=device_type,
                state=CatheterState.IN_PLACE,
                placed_at=utcnow() - timedelta(days=10),
            )
        )
    session.commit()
    return account


@pytest.fixture
def follower(settings, engine, redis_conn, session, places):
    """A follower whose active 就诊人 has a PICC in place; a browser signed in as them."""
    account = add_follower(session, "o_qian", "钱阿姨", "PICC")

    def client(live_settings=settings):
        c = create_app(live_settings).test_client()
        with c.session_transaction() as web_session:
            web_session["account_id"] = account.id
        return c

    return client


@pytest.mark.req("P5.1")
def test_p5_1_the_page_lists_by_the_phones_position_with_distance_phone_and_map(follower):
    client = follower()
    page = client.get("/h5/nearby").get_data(as_text=True)
    assert "按您的导管（PICC）查找" in page and 'name="district"' in page  # usable outside WeChat
    r = client.get("/h5/nearby/list", query_string={"lat": HOME[0], "lng": HOME[1]})
    data = r.get_json()
    assert data["ok"] and [(p["name"], p["distance_km"]) for p in data["places"]] == [
        ("两公里PICC门诊", 2.2),
        ("五公里PICC门诊", 5.6),
    ]
    html = data["html"]
    assert "约2.2公里" in html and 'href="tel:0571-88000000"' in html
    assert 'class="map"' in html and 'data-lat="30.02"' in html and "PICC维护" in html


@pytest.mark.req("P5.1")
def test_p5_1_a_position_outside_china_or_garbage_asks_for_the_district(follower):
    client = follower()
    paris = client.get("/h5/nearby/list", query_string={"lat": 48.85, "lng": 2.35}).get_json()
    assert not paris["ok"] and "不在国内" in paris["message"] and "区县" in paris["message"]
    swapped = client.get("/h5/nearby/list", query_string={"lat": 120.0, "lng": 30.0})
    assert not swapped.get_json()["ok"]
    bad = client.get("/h5/nearby/list", query_string={"lat": "abc", "lng": ""})
    assert bad.status_code == 400 and "位置信息有误" in bad.get_json()["message"]


@pytest.mark.req("P5.1")
def test_p5_1_a_typed_district_lists_its_institutions_without_a_geocoder(follower):
    page = follower().get("/h5/nearby", query_string={"district": "西湖区"}).get_data(as_text=True)
    names = re.findall(r"<h2>([^<]+?)(?: <span|</h2>)", page)
    assert names == ["两公里PICC门诊", "没有坐标的PICC门诊"]  # PICC only, active, maintaining
    nothing = follower().get("/h5/nearby", query_string={"district": "钱塘区"})
    assert "没有找到“钱塘区”可维护您导管的医疗机构" in nothing.get_data(as_text=True)
    bad = follower().get("/h5/nearby", query_string={"district": "<script>"})
    assert "请输入区县或街道名称" in bad.get_data(as_text=True)


@pytest.mark.req("P5.1")
def test_p5_1_a_typed_district_is_geocoded_and_sorted_by_distance(settings, follower, lbs):
    state, url = lbs
    state.places["测试区"] = (HOME[0] + 0.06, HOME[1], "测试区")  # 1 km past the five-km one
    live = replace(settings, lbs_api_base=url, lbs_key=DEV_KEY, lbs_secret_key=DEV_SECRET_KEY)
    page = follower(live).get("/h5/nearby", query_string={"district": "测试区"})
    html = page.get_data(as_text=True)
    assert html.index("五公里PICC门诊") < html.index("两公里PICC门诊")
    assert "约1.1公里" in html and "约4.4公里" in html


@pytest.mark.req("P5.1")
def test_p5_1_a_districts_position_is_asked_once_a_day_unknown_words_once_an_hour(
    settings, follower, lbs, redis_conn
):
    """Typing the same district again is answered from Redis, not from the key's quota."""
    state, url = lbs
    state.places["测试区"] = (HOME[0] + 0.06, HOME[1], "测试区")
    live = replace(settings, lbs_api_base=url, lbs_key=DEV_KEY, lbs_secret_key=DEV_SECRET_KEY)
    client = follower(live)
    for _ in range(3):
        html = client.get("/h5/nearby", query_string={"district": "测试区"}).get_data(as_text=True)
        assert html.index("五公里PICC门诊") < html.index("两公里PICC门诊")
    for _ in range(3):
        html = client.get("/h5/nearby", query_string={"district": "火星区"}).get_data(as_text=True)
        assert "没有找到“火星区”" in html
    asked = [
        c["params"]["address"] for c in requests.get(f"{url}/_sim/calls", timeout=5).json()["calls"]
    ]
    assert asked == ["测试区", "火星区"]
    ttls = sorted(redis_conn.ttl(k) for k in redis_conn.scan_iter(f"{CachedGeocoder.PREFIX}*"))
    assert len(ttls) == 2 and 3000 < ttls[0] <= 3600 and 86000 < ttls[1] <= 86400


def test_a3_1_failures_other_than_an_unknown_address_are_not_kept(lbs, redis_conn):
    state, url = lbs
    cached = CachedGeocoder(TencentGeocoder(url, DEV_KEY, DEV_SECRET_KEY), redis_conn)
    requests.post(f"{url}/_sim/fail", json={"status": 121}, timeout=5)
    with pytest.raises(LbsError):
        cached.geocode("文三路318号")
    assert cached.geocode("浙江省杭州市西湖区文三路318号").district == "西湖区"  # asked again
    assert cached.geocode("浙江省杭州市西湖区文三路318号").district == "西湖区"  # kept
    assert len(state.calls) == 2


@pytest.mark.req("P5.1")
def test_p5_1_one_follower_cannot_spend_the_map_quota(settings, follower, lbs, session):
    """The page is limited per follower: another follower is not held up by the first."""
    _, url = lbs
    live = replace(settings, lbs_api_base=url, lbs_key=DEV_KEY, lbs_secret_key=DEV_SECRET_KEY)
    client = follower(live)
    for n in range(60):
        r = client.get("/h5/nearby", query_string={"district": f"区县{n:02d}号"})
        assert r.status_code == 200
    assert client.get("/h5/nearby", query_string={"district": "西湖区"}).status_code == 429
    other = add_follower(session, "o_zhao", "赵先生", "PICC")
    c = create_app(live).test_client()
    with c.session_transaction() as web_session:
        web_session["account_id"] = other.id
    assert c.get("/h5/nearby", query_string={"district": "西湖区"}).status_code == 200


@pytest.mark.req("P5.1", "A5.1")
def test_a5_1_a_new_agreement_version_is_accepted_before_the_nearby_page(follower, session):
    session.add(
        Agreement(
            kind=AgreementKind.SERVICE,
            version=2,
            title="服务协议",
            body="新版",
            published_at=utcnow(),
        )
    )
    session.commit()
    client = follower()
    for path in ("/h5/nearby", "/h5/nearby/list?lat=30&lng=120"):
        r = client.get(path)
        assert r.status_code == 302 and "/h5/agreements" in r.headers["Location"], path


# ---- chat ---------------------------------------------------------------------------------


@pytest.mark.req("P5.1")
@pytest.mark.usefixtures("action_runtime")
def test_p5_1_chat_lists_by_shared_location_and_patients_catheters(domain, places, session):
    patient = Patient(name="孙先生")
    session.add(patient)
    session.flush()
    session.add(
        Catheter(
            patient_id=patient.id,
            device_type="PORT",
            state=CatheterState.IN_PLACE,
            placed_at=utcnow(),
        )
    )
    session.commit()
    t = tracker(
        "share_location",
        entities=[("latitude", HOME[0]), ("longitude", HOME[1])],
        active_patient_id=patient.id,
    )
    messages, _ = run(patient_actions.ActionNearbyInstitutions(), t, domain)
    cards = [m["custom"] for m in messages if m.get("custom")]
    assert [(c["title"], c["subtitle"]) for c in cards] == [("一公里输液港门诊", "约1.1公里")]
    assert "/h5/nearby" in texts(messages)


@pytest.mark.req("P5.1")
@pytest.mark.usefixtures("action_runtime")
def test_p5_1_chat_without_a_location_links_the_page_or_answers_a_named_district(
    domain, places, settings
):
    messages, _ = run(patient_actions.ActionNearbyInstitutions(), tracker("nearby"), domain)
    assert "请发送您的位置" in texts(messages)
    assert f"{settings.public_base_url}/h5/nearby" in texts(messages)
    t = tracker("nearby_institutions", entities=[("device_type", "PICC")])
    t.latest_message["text"] = "西湖区附近哪里能维护PICC"
    messages, _ = run(patient_actions.ActionNearbyInstitutions(), t, domain)
    assert "西湖区可维护导管的医疗机构" in texts(messages)
    cards = [m["custom"]["title"] for m in messages if m.get("custom")]
    assert cards == ["两公里PICC门诊", "没有坐标的PICC门诊"]
    abroad = tracker("share_location", entities=[("latitude", 48.85), ("longitude", 2.35)])
    messages, _ = run(patient_actions.ActionNearbyInstitutions(), abroad, domain)
    assert "不在国内" in texts(messages) and "区县" in texts(messages)


def test_p5_1_the_simulator_knows_the_seeded_institutions_addresses():
    """Every seeded address geocodes in the simulator to the seed's own coordinates."""
    from bot.seed.tables import INSTITUTIONS

    state = LbsState(secret_key="")
    for spec in [INSTITUTIONS["home"], *INSTITUTIONS["others"]]:
        found = state.find(spec["address"])
        assert found is not None, spec["address"]
        lat, lng, district = found[1]
        assert (lat, lng, district) == (spec["latitude"], spec["longitude"], spec["district"])
