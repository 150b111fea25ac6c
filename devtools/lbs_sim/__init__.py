"""A simulator of Tencent Location Service's WebService geocoder (``/ws/geocoder/v1/``): checks
the key, the SN signature (``sig``) when a secret key is configured, and answers GCJ-02
coordinates from a table of known addresses and districts of 杭州市 (the city of the demo's
institutions); an unknown address is status 347, as Tencent answers.

    python -m devtools.lbs_sim           # serves on LBS_SIM_PORT (default 5084)

``GET /_sim/calls`` lists the requests; ``POST /_sim/places {"address": …, "lat": …, "lng": …,
"district": …}`` adds an address; ``POST /_sim/fail {"status": 121, "times": n}`` makes the
next n requests fail with that status.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

DEV_KEY = "SIMUL-ATORK-EYLBS-DEVEL-OPMEN-T0001"
DEV_SECRET_KEY = "simulator-lbs-secret-key"
PROVINCE, CITY = "浙江省", "杭州市"
# address (or the distinctive part of one) -> (lat, lng, district), GCJ-02
DEV_PLACES: dict[str, tuple[float, float, str]] = {
    "解放路88号": (30.2547, 120.1798, "上城区"),
    "文三路318号": (30.2786, 120.1251, "西湖区"),
    "湖墅南路156号": (30.3195, 120.1428, "拱墅区"),
    "长河路590号": (30.1985, 120.1962, "滨江区"),
    "城厢街道人民路72号": (30.1672, 120.2706, "萧山区"),
    "古墩路1888号": (30.3712, 120.0455, "余杭区"),
    "南大街369号": (30.4197, 120.3009, "临平区"),
    "笕桥路66号": (30.3033, 120.2112, "上城区"),
    "北环路25号": (30.0489, 119.9603, "富阳区"),
    "延安路1号": (30.2590, 120.1650, "上城区"),
    "学院路77号": (30.2790, 120.1330, "西湖区"),
    # districts: the position of the district government, what Tencent answers for a district
    "上城区": (30.2425, 120.1692, "上城区"),
    "西湖区": (30.2595, 120.1302, "西湖区"),
    "拱墅区": (30.3196, 120.1418, "拱墅区"),
    "滨江区": (30.2083, 120.2117, "滨江区"),
    "萧山区": (30.1837, 120.2645, "萧山区"),
    "余杭区": (30.2737, 119.9789, "余杭区"),
    "临平区": (30.4192, 120.2993, "临平区"),
    "钱塘区": (30.3226, 120.4934, "钱塘区"),
    "富阳区": (30.0498, 119.9602, "富阳区"),
    "临安区": (30.2339, 119.7247, "临安区"),
}


def _expected_sig(path: str, params: dict[str, str], secret_key: str) -> str:
    # written from Tencent's documentation, not shared with the product's client
    pairs = sorted((k, v) for k, v in params.items() if k != "sig")
    raw = path + "?" + "&".join(f"{k}={v}" for k, v in pairs) + secret_key
    return hashlib.md5(raw.encode("utf-8")).hexdigest()


@dataclass
class LbsState:
    key: str = DEV_KEY
    secret_key: str = DEV_SECRET_KEY  # "" : SN verification off
    places: dict[str, tuple[float, float, str]] = field(default_factory=lambda: dict(DEV_PLACES))
    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, address: str) -> tuple[str, tuple[float, float, str]] | None:
        """The longest known place the address contains (a house number before a district)."""
        hits = [name for name in self.places if name in address]
        if not hits:
            return None
        best = max(hits, key=len)
        return best, self.places[best]


def create_lbs_sim_app(state: LbsState | None = None) -> Flask:
    app = Flask(__name__)
    st = state or LbsState()
    app.extensions["lbs_state"] = st

    def answer(status: int, message: str, **extra: Any):
        return jsonify(status=status, message=message, request_id=uuid.uuid4().hex, **extra)

    @app.get("/ws/geocoder/v1/")
    @app.get("/ws/geocoder/v1")
    def geocoder():
        params = request.args.to_dict()
        with st.lock:
            st.calls.append({"path": request.path, "params": params})
            failure = st.failures.pop(0) if st.failures else None
        if params.get("key") != st.key:
            return answer(311, "key格式错误")
        # signed for the path as requested: Tencent takes it with or without the final slash
        sig = _expected_sig(request.path, params, st.secret_key)
        if st.secret_key and params.get("sig") != sig:
            return answer(111, "签名验证失败")
        if failure is not None:
            return answer(failure, "simulated failure")
        address = params.get("address", "").strip()
        if not address:
            return answer(310, "请求参数信息有误")
        found = st.find(address)
        if found is None:
            return answer(347, "查询无结果")
        name, (lat, lng, district) = found
        is_district = name == district
        return answer(
            0,
            "query ok",
            result={
                "title": address,
                "location": {"lat": lat, "lng": lng},
                "address_components": {
                    "province": PROVINCE,
                    "city": CITY,
                    "district": district,
                    "street": "",
                    "street_number": "" if is_district else name,
                },
                "similarity": 0.8,
                "deviation": 1000,
                "reliability": 1 if is_district else 7,
                "level": 4 if is_district else 9,
            },
        )

    @app.get("/_sim/calls")
    def calls():
        with st.lock:
            return jsonify(calls=list(st.calls))

    @app.post("/_sim/places")
    def add_place():
        data = request.get_json(force=True) or {}
        with st.lock:
            st.places[str(data["address"])] = (
                float(data["lat"]),
                float(data["lng"]),
                str(data.get("district") or ""),
            )
        return jsonify(ok=True)

    @app.post("/_sim/fail")
    def fail():
        data = request.get_json(force=True) or {}
        with st.lock:
            st.failures.extend([int(data.get("status", 121))] * int(data.get("times", 1)))
        return jsonify(ok=True)

    return app
