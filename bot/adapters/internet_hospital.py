"""The hospital's internet hospital (互联网医院): OAuth2 authorization-code sign-in, the
user's details and their 就诊人 list. There is no national standard API; the contract this
adapter speaks is docs/internet-hospital.md, implemented over HTTP and configured by
INTERNET_HOSPITAL_BASE, INTERNET_HOSPITAL_CLIENT_ID and INTERNET_HOSPITAL_CLIENT_SECRET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

TIMEOUT = 10


class InternetHospitalError(Exception):
    """The internet hospital refused or failed; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class IhUser:
    user_id: str
    name: str
    phone: str | None


@dataclass(frozen=True)
class IhPatient:
    """One 就诊人 as the internet hospital lists it."""

    id: str
    relation: str
    name: str
    sex: str  # M / F / U
    birth_date: str | None
    id_card: str | None
    phone: str | None
    hospital_patient_id: str | None


class InternetHospital(Protocol):
    def authorize_url(self, redirect_uri: str, state: str) -> str: ...
    def exchange(self, code: str, redirect_uri: str) -> str: ...
    def user(self, token: str) -> IhUser: ...
    def patients(self, token: str) -> list[IhPatient]: ...


class HttpInternetHospital:
    def __init__(self, base: str, client_id: str, client_secret: str) -> None:
        self.base = base.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._http = requests.Session()

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": "patients",
        }
        return f"{self.base}/oauth/authorize?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> str:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        body = self._call("POST", "/oauth/token", data=data)
        token = body.get("access_token")
        if not token:
            raise InternetHospitalError("bad_response", "no access_token")
        return str(token)

    def user(self, token: str) -> IhUser:
        body = self._call("GET", "/api/userinfo", token=token)
        return IhUser(str(body["user_id"]), str(body.get("name") or ""), body.get("phone"))

    def patients(self, token: str) -> list[IhPatient]:
        body = self._call("GET", "/api/patients", token=token)
        return [
            IhPatient(
                id=str(p["id"]),
                relation=str(p.get("relation") or "本人"),
                name=str(p.get("name") or ""),
                sex=str(p.get("sex") or "U"),
                birth_date=p.get("birth_date"),
                id_card=p.get("id_card"),
                phone=p.get("phone"),
                hospital_patient_id=p.get("hospital_patient_id"),
            )
            for p in body.get("patients") or []
        ]

    def _call(
        self, method: str, path: str, *, token: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            res = self._http.request(
                method, self.base + path, headers=headers, timeout=TIMEOUT, **kw
            )
        except requests.RequestException as exc:
            raise InternetHospitalError("unreachable", str(exc)) from exc
        try:
            body = res.json()
        except ValueError as exc:
            raise InternetHospitalError("bad_response", f"HTTP {res.status_code}") from exc
        if res.status_code >= 400 or not isinstance(body, dict):
            reason = body.get("error", "http_error") if isinstance(body, dict) else "http_error"
            raise InternetHospitalError(str(reason), f"HTTP {res.status_code}")
        return body
