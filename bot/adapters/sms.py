"""SMS through Tencent Cloud SMS (API 3.0 ``SendSms``, TC3-HMAC-SHA256 signed requests) or
Aliyun SMS (Dysmsapi ``SendSms``, RPC style, HMAC-SHA1 signature version 1.0).

Configured by SMS_PROVIDER=tencent or aliyun, SMS_API_BASE, SMS_SECRET_ID (Aliyun: the
AccessKey id), SMS_SECRET_KEY (the AccessKey secret), SMS_SDK_APP_ID (Tencent only),
SMS_SIGN_NAME and SMS_TEMPLATES (JSON: message kind → approved template id / code).
Chinese SMS must use templates approved in the console; a message is a template id and its
parameters. Errors carry the same ``retryable`` / ``reason`` as the WeChat clients', so the
outbox treats every channel alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import requests

from .wechat import WeChatError

SERVICE = "sms"
VERSION = "2021-01-11"
TIMEOUT = 10
# Tencent Cloud error codes that will not succeed on a retry
PERMANENT = (
    "InvalidParameterValue",
    "FailedOperation.PhoneNumberInBlacklist",
    "UnauthorizedOperation",
    "AuthFailure",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "LimitExceeded.PhoneNumberDailyLimit",
    "LimitExceeded.PhoneNumberThirtySecondLimit",
    "LimitExceeded.PhoneNumberOneHourLimit",
    "FailedOperation.InsufficientBalanceInSmsPackage",
)


class SmsError(WeChatError):
    """A failed SMS; ``retryable`` and ``reason`` as for the WeChat channels."""


def sign_tc3(secret_id: str, secret_key: str, host: str, body: str, timestamp: int) -> str:
    """The ``Authorization`` header of a TC3-HMAC-SHA256 request (POST, JSON body)."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body.encode()).hexdigest(),
        ]
    )
    scope = f"{day}/{SERVICE}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(("TC3" + secret_key).encode(), day), SERVICE), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


class TencentSms:
    def __init__(
        self,
        api_base: str,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
    ) -> None:
        self.url = api_base.rstrip("/") + "/"
        self.host = urlsplit(self.url).netloc
        self.secret_id, self.secret_key = secret_id, secret_key
        self.sdk_app_id, self.sign_name, self.region = sdk_app_id, sign_name, region
        self._http = requests.Session()

    def send(self, phone: str, template_id: str, params: list[str], kind: str = "") -> str:
        """Send one templated SMS to a mainland mobile; the provider's serial number."""
        body = json.dumps(
            {
                "PhoneNumberSet": [f"+86{phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": template_id,
                "TemplateParamSet": [str(p)[:20] for p in params],  # provider limit per parameter
            },
            ensure_ascii=False,
        )
        ts = int(time.time())
        headers = {
            "Authorization": sign_tc3(self.secret_id, self.secret_key, self.host, body, ts),
            "Content-Type": "application/json; charset=utf-8",
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(ts),
            "X-TC-Region": self.region,
        }
        try:
            res = self._http.post(self.url, data=body.encode(), headers=headers, timeout=TIMEOUT)
            answer = res.json().get("Response") or {}
        except (requests.RequestException, ValueError) as exc:
            raise SmsError(None, str(exc), retryable=True, reason="unreachable") from exc
        if "Error" in answer:
            code = str(answer["Error"].get("Code", ""))
            raise SmsError(
                None,
                f"{code}: {answer['Error'].get('Message', '')}",
                retryable=not code.startswith(PERMANENT),
                reason=code or "error",
            )
        status = (answer.get("SendStatusSet") or [{}])[0]
        if status.get("Code") != "Ok":
            code = str(status.get("Code", "unknown"))
            raise SmsError(
                None,
                f"{code}: {status.get('Message', '')}",
                retryable=not code.startswith(PERMANENT),
                reason=code,
            )
        return str(status.get("SerialNo") or answer.get("RequestId") or "")


# the variables each message kind fills, in order: {1} {2} … in a Tencent template, ${name} …
# in an Aliyun one (the names to use when applying for the template in Aliyun's console)
PARAM_NAMES = {
    "application_approved": ("name",),
    "application_rejected": ("name", "reason"),
    "reminder_due": ("name", "device", "date"),
    "reminder_overdue": ("name", "device", "days"),
}
ALIYUN_VERSION = "2017-05-25"
# Aliyun error codes that will not succeed on a retry: the isv.* business errors (template,
# sign name, mobile, balance, and the per-mobile limits isv.BUSINESS_LIMIT_CONTROL / DAY_LIMIT,
# as Tencent's are treated) and the credential and request errors; isp.SYSTEM_ERROR,
# Throttling.* and the like are retried
ALIYUN_PERMANENT = (
    "isv.",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "Forbidden",
    "isp.RAM_PERMISSION_DENY",
    "InvalidTimeStamp",
    "MissingParameter",
    "InvalidParameter",
)


def pop_percent(value: str) -> str:
    """Percent-encoding of Aliyun's POP signature: RFC 3986, only A-Z a-z 0-9 - _ . ~ kept."""
    return quote(value, safe="-_.~")


def sign_pop(method: str, params: dict[str, str], secret: str) -> str:
    """The ``Signature`` of an RPC request (signature version 1.0, HMAC-SHA1)."""
    canonical = "&".join(f"{pop_percent(k)}={pop_percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{pop_percent('/')}&{pop_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSms:
    def __init__(
        self,
        api_base: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        region: str = "cn-hangzhou",
    ) -> None:
        self.url = api_base.rstrip("/") + "/"
        self.access_key_id, self.secret = access_key_id, access_key_secret
        self.sign_name, self.region = sign_name, region
        self._http = requests.Session()

    def send(self, phone: str, template_id: str, params: list[str], kind: str = "") -> str:
        """Send one templated SMS (``template_id``: the template code, SMS_…) to a mainland
        mobile; the provider's BizId. The parameters are named after ``PARAM_NAMES[kind]``."""
        names = PARAM_NAMES.get(kind) or tuple(f"p{n}" for n in range(1, len(params) + 1))
        values = {name: str(value)[:35] for name, value in zip(names, params, strict=False)}
        query = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_id,
            "TemplateParam": json.dumps(values, ensure_ascii=False),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_VERSION,
        }
        query["Signature"] = sign_pop("POST", query, self.secret)
        try:
            # errors come as JSON with an HTTP 4xx / 5xx status
            answer = self._http.post(self.url, data=query, timeout=TIMEOUT).json()
        except (requests.RequestException, ValueError) as exc:
            raise SmsError(None, str(exc), retryable=True, reason="unreachable") from exc
        code = str(answer.get("Code", "unknown"))
        if code != "OK":
            raise SmsError(
                None,
                f"{code}: {answer.get('Message', '')}",
                retryable=not code.startswith(ALIYUN_PERMANENT),
                reason=code,
            )
        return str(answer.get("BizId") or answer.get("RequestId") or "")
