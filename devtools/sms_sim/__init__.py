"""A simulator of Tencent Cloud SMS (API 3.0 ``SendSms``) and Aliyun SMS (Dysmsapi
``SendSms``, ``aliyun.py``), both on ``/``: checks each one's signature as the provider does,
the app id, sign name and template, and keeps what was sent, the same way for both.

    python -m devtools.sms_sim           # serves on SMS_SIM_PORT (default 5083)

``GET /_sim/messages`` lists the messages; ``POST /_sim/fail {"code": "...", "times": n}`` makes
the next n sends fail with that error code (e.g. ``InternalError.Timeout`` or
``LimitExceeded.PhoneNumberDailyLimit``; Aliyun: ``isp.SYSTEM_ERROR`` or
``isv.BUSINESS_LIMIT_CONTROL``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

from . import aliyun

DEV_SECRET_ID = "AKIDsimulator"
DEV_SECRET_KEY = "sim-secret-key"
DEV_SDK_APP_ID = "1400000000"
DEV_SIGN_NAME = "示范一院"
# template id -> text with {1} {2} … parameters, as approved in the console
DEV_TEMPLATES = {
    "1000001": (
        "{1}您好，您的外院医护注册申请已通过，请用手机号登录静脉通路管理，"
        "初始密码由管理员电话告知。"
    ),
    "1000002": "{1}您好，您的外院医护注册申请未通过，原因：{2}。可修改后重新申请。",
    "1000003": "{1}您好，您的{2}将于{3}到期维护，请按时到医院或就近机构维护。",
    "1000004": "{1}您好，您的{2}维护已逾期{3}天，请尽快到医院或就近机构维护。",
}


@dataclass
class SmsState:
    secret_id: str = DEV_SECRET_ID
    secret_key: str = DEV_SECRET_KEY
    sdk_app_id: str = DEV_SDK_APP_ID
    sign_name: str = DEV_SIGN_NAME
    templates: dict[str, str] = field(default_factory=lambda: dict(DEV_TEMPLATES))
    aliyun_access_key_id: str = aliyun.DEV_ACCESS_KEY_ID
    aliyun_access_key_secret: str = aliyun.DEV_ACCESS_KEY_SECRET
    aliyun_templates: dict[str, str] = field(default_factory=lambda: dict(aliyun.DEV_TEMPLATES))
    aliyun_nonces: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, provider: str, phone: str, template: str, params: Any, text: str) -> str:
        """Keep a message as the phone shows it; its serial number."""
        serial = uuid.uuid4().hex
        with self.lock:
            self.messages.append(
                {
                    "provider": provider,
                    "phone": phone,
                    "sign": self.sign_name,
                    "template": template,
                    "params": params,
                    "text": f"【{self.sign_name}】{text}",
                    "serial": serial,
                }
            )
        return serial


def _expected_authorization(state: SmsState, host: str, body: bytes, ts: str) -> str:
    day = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
    canonical_request = (
        f"POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{host}\n\n"
        f"content-type;host\n{hashlib.sha256(body).hexdigest()}"
    )
    scope = f"{day}/sms/tc3_request"
    string_to_sign = (
        f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    )
    k = ("TC3" + state.secret_key).encode()
    for part in (day, "sms", "tc3_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={state.secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={sig}"
    )


def create_sms_sim_app(state: SmsState | None = None) -> Flask:
    app = Flask(__name__)
    st = state or SmsState()
    app.extensions["sms_state"] = st

    def error(code: str, message: str):  # type: ignore[no-untyped-def]
        return jsonify(
            Response={"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}
        )

    @app.route("/", methods=["GET", "POST"])
    def api():  # type: ignore[no-untyped-def]
        if "Action" in request.values:  # an Aliyun RPC request (query or form parameters)
            return aliyun.handle(st, request.method, request.values.to_dict())
        h = request.headers
        if h.get("X-TC-Action") != "SendSms" or h.get("X-TC-Version") != "2021-01-11":
            return error("InvalidAction", "unsupported action or version")
        ts = h.get("X-TC-Timestamp", "0")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return error("AuthFailure.SignatureExpire", "request expired")
        if h.get("Authorization") != _expected_authorization(
            st, h.get("Host", ""), request.get_data(), ts
        ):
            return error("AuthFailure.SignatureFailure", "signature mismatch")
        body = json.loads(request.get_data() or b"{}")
        if body.get("SmsSdkAppId") != st.sdk_app_id:
            return error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist")
        if body.get("SignName") != st.sign_name:
            return error("FailedOperation.SignatureIncorrectOrUnapproved", "signature not approved")
        template = st.templates.get(str(body.get("TemplateId")))
        if template is None:
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "template not approved")
        with st.lock:
            if st.failures:
                return error(st.failures.pop(0), "simulated failure")
        statuses = []
        for phone in body.get("PhoneNumberSet") or []:
            if not re.fullmatch(r"\+861[3-9]\d{9}", phone):
                statuses.append(
                    {
                        "SerialNo": "",
                        "PhoneNumber": phone,
                        "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                        "Message": "incorrect phone number",
                    }
                )
                continue
            text = template
            for n, value in enumerate(body.get("TemplateParamSet") or [], 1):
                text = text.replace("{" + str(n) + "}", str(value))
            serial = st.record(
                "tencent", phone[3:], body["TemplateId"], body.get("TemplateParamSet") or [], text
            )
            statuses.append(
                {"SerialNo": serial, "PhoneNumber": phone, "Code": "Ok", "Message": "send success"}
            )
        return jsonify(Response={"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())})

    @app.get("/_sim/messages")
    def messages():  # type: ignore[no-untyped-def]
        with st.lock:
            return jsonify(messages=list(st.messages))

    @app.post("/_sim/fail")
    def fail():  # type: ignore[no-untyped-def]
        data = request.get_json(force=True) or {}
        with st.lock:
            st.failures.extend(
                [str(data.get("code", "InternalError.Timeout"))] * int(data.get("times", 1))
            )
        return jsonify(ok=True)

    return app
