"""Tencent Location Service (腾讯位置服务) WebService API: the address geocoder (P5.1, A3.1).

``GET {LBS_API_BASE}/ws/geocoder/v1/?address=…&key=…`` answers GCJ-02 coordinates (the
coordinate system of Tencent Maps and of WeChat's ``wx.getLocation({type: "gcj02"})``). With
SN verification enabled for the key (``LBS_SECRET_KEY``), every request carries ``sig``: the
md5 of the request path + "?" + the parameters sorted by name as ``k=v`` joined with "&"
(values not URL-encoded) + the secret key, in lowercase hex.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import redis
import requests

log = logging.getLogger(__name__)

GEOCODER_PATH = "/ws/geocoder/v1/"
TIMEOUT = 5
# status -> what an administrator is told
MESSAGES = {
    110: "地图服务密钥不允许从本服务器调用（来源未授权）",
    111: "地图服务签名校验失败，请检查 LBS_SECRET_KEY",
    112: "地图服务密钥不允许从本服务器的 IP 调用",
    113: "地图服务密钥未开通地址解析服务",
    120: "地图服务请求过于频繁，请稍后再试",
    121: "地图服务今日调用量已达上限，请明天再试或手动填写坐标",
    190: "地图服务密钥无效，请检查 LBS_KEY",
    199: "地图服务密钥未开启 WebService API",
    310: "地址解析参数有误，请检查地址",
    311: "地图服务密钥格式错误，请检查 LBS_KEY",
    347: "未能解析该地址，请补充省市区后重试或手动填写坐标",
}
RETRYABLE = {120}
UNKNOWN = {310, 347}  # the address itself is at fault: the same words fail again tomorrow


class LbsError(Exception):
    """A failed look-up: ``status`` is Tencent's (None when the service was not reached),
    ``message`` the Chinese sentence for people."""

    def __init__(self, status: int | None, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.retryable = status, message, retryable


@dataclass(frozen=True)
class Geocoded:
    latitude: float
    longitude: float
    province: str
    city: str
    district: str
    reliability: int | None  # 1–10: how sure the service is of the position
    level: int | None  # what the position stands for, 1 (country) … 11 (house number)


def signature(path: str, params: Mapping[str, str], secret_key: str) -> str:
    """The SN signature (``sig``) of a GET request to ``path`` with ``params``."""
    query = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig")
    return hashlib.md5((f"{path}?{query}{secret_key}").encode()).hexdigest()


class TencentGeocoder:
    def __init__(self, api_base: str, key: str, secret_key: str = "") -> None:
        self.base = api_base.rstrip("/")
        self.key, self.secret_key = key, secret_key
        self._http = requests.Session()

    def geocode(self, address: str, *, region: str | None = None) -> Geocoded:
        """The position of a Chinese address (``region``: the city it is in, a hint).

        Raises LbsError with a Chinese message when the service refuses or cannot be reached.
        """
        params = {"address": address.strip(), "key": self.key}
        if region:
            params["region"] = region
        if self.secret_key:
            params["sig"] = signature(GEOCODER_PATH, params, self.secret_key)
        try:
            res = self._http.get(self.base + GEOCODER_PATH, params=params, timeout=TIMEOUT)
            answer: dict[str, Any] = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise LbsError(None, "地图服务暂时无法访问，请稍后再试", retryable=True) from exc
        status = int(answer.get("status", -1))
        if status != 0:
            message = MESSAGES.get(status, f"地图服务返回错误（{answer.get('message', '')}）")
            raise LbsError(status, message, retryable=status in RETRYABLE)
        result = answer.get("result") or {}
        location = result.get("location") or {}
        parts = result.get("address_components") or {}
        try:
            lat, lng = float(location["lat"]), float(location["lng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise LbsError(status, "地图服务没有返回坐标") from exc
        return Geocoded(
            latitude=lat,
            longitude=lng,
            province=str(parts.get("province") or ""),
            city=str(parts.get("city") or ""),
            district=str(parts.get("district") or ""),
            reliability=_int(result.get("reliability")),
            level=_int(result.get("level")),
        )


class Geocoder(Protocol):
    def geocode(self, address: str, *, region: str | None = None) -> Geocoded: ...


class CachedGeocoder:
    """A geocoder whose answers are kept in Redis, so that the same words asked again (a
    patient's district, typed over and over) do not spend the key's daily quota: a position
    for ``found_ttl`` seconds, an address the service does not know for ``unknown_ttl``.
    Other failures (quota, key, network) are not kept. Without Redis it asks every time."""

    PREFIX = "lbs:geocode:"

    def __init__(
        self,
        inner: Geocoder,
        store: redis.Redis,
        *,
        found_ttl: int = 24 * 3600,
        unknown_ttl: int = 3600,
    ) -> None:
        self.inner, self.store = inner, store
        self.found_ttl, self.unknown_ttl = found_ttl, unknown_ttl

    def _key(self, address: str, region: str | None) -> str:
        words = f"{address.strip()}\n{region or ''}".encode()
        return self.PREFIX + hashlib.sha256(words).hexdigest()

    def geocode(self, address: str, *, region: str | None = None) -> Geocoded:
        key = self._key(address, region)
        try:
            kept = self.store.get(key)
        except redis.RedisError as exc:
            log.warning("geocoder cache unavailable: %s", exc)
            return self.inner.geocode(address, region=region)
        if isinstance(kept, (bytes, str)):
            answer = json.loads(kept)
            if "unknown" in answer:
                status, message = answer["unknown"]
                raise LbsError(status, message)
            return Geocoded(**answer)
        try:
            found = self.inner.geocode(address, region=region)
        except LbsError as exc:
            if exc.status in UNKNOWN:
                self._keep(key, {"unknown": [exc.status, exc.message]}, self.unknown_ttl)
            raise
        self._keep(key, asdict(found), self.found_ttl)
        return found

    def _keep(self, key: str, answer: dict[str, Any], ttl: int) -> None:
        try:
            self.store.set(key, json.dumps(answer, ensure_ascii=False), ex=ttl)
        except redis.RedisError as exc:
            log.warning("geocoder cache unavailable: %s", exc)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
