"""A simulator of the hospital's internet hospital (互联网医院), speaking the contract of
docs/internet-hospital.md: OAuth2 authorization code with a login and a consent page, user
info, and each account's 就诊人 list.

    python -m devtools.ih_sim            # serves on IH_SIM_PORT (default 5082)

Accounts (password 123456): ``zhangsan`` (three 就诊人, one of them a demo-data patient),
``lisi`` (two 就诊人, one with an ID-card number whose check digit is wrong, as real data
sometimes has), ``wangwu`` (one 就诊人).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, render_template, request

from bot.security import idcard

DEV_CLIENT_ID = "vam-dev"
DEV_CLIENT_SECRET = "vam-dev-secret"
CODE_TTL = 300
PASSWORD = "123456"


def _id(area: str, birth: str, order: str) -> str:
    first17 = f"{area}{birth}{order}"
    return first17 + idcard.check_digit(first17)


def _demo_person(n: int) -> dict[str, Any]:
    """A patient of the demo data, so binding links an existing clinical record."""
    from bot.seed.demo import demo_people

    p = demo_people(today=date.today())[n]
    return {
        "name": p.name,
        "sex": p.sex.value,
        "birth_date": p.birth_date.isoformat(),
        "id_card": p.id_card,
        "phone": p.phone,
        "hospital_patient_id": p.hospital_patient_id,
    }


def default_accounts() -> dict[str, dict[str, Any]]:
    bad = _id("330106", "19800101", "123")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")  # a wrong check digit
    return {
        "zhangsan": {
            "user_id": "ih-u-1001",
            "name": "张三",
            "phone": "13700001001",
            "patients": [
                {
                    "id": "ih-p-1",
                    "relation": "本人",
                    "name": "张三",
                    "sex": "M",
                    "birth_date": "1968-03-12",
                    "id_card": _id("330102", "19680312", "001"),
                    "phone": "13700001001",
                    "hospital_patient_id": "IH1001",
                },
                {
                    "id": "ih-p-2",
                    "relation": "配偶",
                    "name": "王桂芳",
                    "sex": "F",
                    "birth_date": "1970-07-21",
                    "id_card": _id("330102", "19700721", "002"),
                    "phone": "13700001002",
                    "hospital_patient_id": "IH1002",
                },
                {"id": "ih-p-3", "relation": "父母", **_demo_person(0)},
            ],
        },
        "lisi": {
            "user_id": "ih-u-1002",
            "name": "李四",
            "phone": "13700002001",
            "patients": [
                {
                    "id": "ih-p-4",
                    "relation": "本人",
                    "name": "李四",
                    "sex": "M",
                    "birth_date": "1975-05-05",
                    "id_card": _id("330105", "19750505", "013"),
                    "phone": "13700002001",
                    "hospital_patient_id": "IH2001",
                },
                {
                    "id": "ih-p-5",
                    "relation": "子女",
                    "name": "李小红",
                    "sex": "F",
                    "birth_date": "1980-01-01",
                    "id_card": bad,
                    "phone": "13700002002",
                    "hospital_patient_id": "IH2002",
                },
            ],
        },
        "wangwu": {
            "user_id": "ih-u-1003",
            "name": "王五",
            "phone": "13700003001",
            "patients": [
                {"id": "ih-p-6", "relation": "本人", **_demo_person(1)},
            ],
        },
    }


@dataclass
class IhState:
    client_id: str = DEV_CLIENT_ID
    client_secret: str = DEV_CLIENT_SECRET
    accounts: dict[str, dict[str, Any]] = field(default_factory=default_accounts)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def user(self, user_id: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts.values() if a["user_id"] == user_id), None)


def create_ih_sim_app(state: IhState | None = None) -> Flask:
    app = Flask(__name__, template_folder="templates")
    st = state or IhState()
    app.extensions["ih_state"] = st

    def params_ok(args: Any) -> str | None:
        if args.get("client_id") != st.client_id:
            return "client_id 无效"
        if args.get("response_type", "code") != "code" or not args.get("redirect_uri"):
            return "redirect_uri 或 response_type 参数错误"
        return None

    @app.get("/oauth/authorize")
    def authorize():  # type: ignore[no-untyped-def]
        if error := params_ok(request.args):
            return Response(error, status=400, mimetype="text/plain")
        return render_template("ih_login.html", args=request.args, error=None)

    @app.post("/oauth/authorize")
    def login():  # type: ignore[no-untyped-def]
        form = request.form
        if error := params_ok(form):
            return Response(error, status=400, mimetype="text/plain")
        target = form["redirect_uri"]
        sep = "&" if "?" in target else "?"
        if form.get("decision") == "deny":
            return redirect(
                target + sep + urlencode({"error": "access_denied", "state": form.get("state", "")})
            )
        account = st.accounts.get(form.get("username", ""))
        if account is None or form.get("password") != PASSWORD:
            return render_template("ih_login.html", args=form, error="账号或密码错误"), 401
        if form.get("decision") != "allow":
            return render_template("ih_consent.html", args=form, account=account)
        code = secrets.token_urlsafe(16)
        with st.lock:
            st.codes[code] = {
                "user_id": account["user_id"],
                "redirect_uri": target,
                "expires": time.time() + CODE_TTL,
                "used": False,
            }
        return redirect(target + sep + urlencode({"code": code, "state": form.get("state", "")}))

    @app.post("/oauth/token")
    def token():  # type: ignore[no-untyped-def]
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.authorization:
            client_id, secret = request.authorization.username, request.authorization.password
        if (client_id, secret) != (st.client_id, st.client_secret):
            return jsonify(error="invalid_client"), 401
        if form.get("grant_type") != "authorization_code":
            return jsonify(error="unsupported_grant_type"), 400
        with st.lock:
            entry = st.codes.get(form.get("code", ""))
            if (
                entry is None
                or entry["used"]
                or entry["expires"] < time.time()
                or entry["redirect_uri"] != form.get("redirect_uri")
            ):
                return jsonify(
                    error="invalid_grant", error_description="授权码无效、已使用或已过期"
                ), 400
            entry["used"] = True
            access = secrets.token_urlsafe(24)
            st.tokens[access] = entry["user_id"]
        return jsonify(
            access_token=access, token_type="Bearer", expires_in=7200, user_id=entry["user_id"]
        )

    def bearer_user() -> dict[str, Any] | None:
        auth = request.headers.get("Authorization", "")
        user_id = (
            st.tokens.get(auth.removeprefix("Bearer ").strip())
            if auth.startswith("Bearer ")
            else None
        )
        return st.user(user_id) if user_id else None

    @app.get("/api/userinfo")
    def userinfo():  # type: ignore[no-untyped-def]
        if (user := bearer_user()) is None:
            return jsonify(error="invalid_token"), 401
        return jsonify(user_id=user["user_id"], name=user["name"], phone=user["phone"])

    @app.get("/api/patients")
    def patients():  # type: ignore[no-untyped-def]
        if (user := bearer_user()) is None:
            return jsonify(error="invalid_token"), 401
        return jsonify(patients=user["patients"])

    return app
