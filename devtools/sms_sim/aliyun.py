"""The Aliyun SMS side of the simulator: Dysmsapi ``SendSms`` (RPC style, version 2017-05-25)
as Aliyun answers it — the POP signature (HMAC-SHA1, version 1.0) checked from the spec,
timestamps within 15 minutes, each SignatureNonce once, sign name, template code and its
``${variables}``, the mobile number; errors as Aliyun's codes with their HTTP status."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from calendar import timegm
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import jsonify

if TYPE_CHECKING:
    from . import SmsState

DEV_ACCESS_KEY_ID = "LTAIsimulator"
DEV_ACCESS_KEY_SECRET = "sim-access-key-secret"
# template code -> text with ${variable} parameters, as approved in the console
DEV_TEMPLATES = {
    "SMS_1000001": (
        "${name}您好，您的外院医护注册申请已通过，请用手机号登录静脉通路管理，"
        "初始密码由管理员电话告知。"
    ),
    "SMS_1000002": "${name}您好，您的外院医护注册申请未通过，原因：${reason}。可修改后重新申请。",
    "SMS_1000003": "${name}您好，您的${device}将于${date}到期维护，请按时到医院或就近机构维护。",
    "SMS_1000004": "${name}您好，您的${device}维护已逾期${days}天，请尽快到医院或就近机构维护。",
}
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def _expected_signature(secret: str, method: str, params: dict[str, str]) -> str:
    def enc(text: str) -> str:  # RFC 3986: space %20, * %2A, ~ kept
        return quote(text, safe="~-._")

    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    query = "&".join(enc(k) + "=" + enc(v) for k, v in pairs)
    string_to_sign = method + "&%2F&" + enc(query)
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def handle(st: SmsState, method: str, params: dict[str, str]) -> Any:
    """One RPC request (query or form parameters) → Aliyun's JSON answer."""

    def error(status: int, code: str, message: str) -> Any:
        return jsonify(Code=code, Message=message, RequestId=str(uuid.uuid4())), status

    if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
        return error(400, "InvalidAction.NotFound", "Specified api is not found")
    if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
        return error(400, "InvalidSignatureMethod", "Specified signature method is not valid")
    try:
        stamp = timegm(time.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid")
    if abs(time.time() - stamp) > 900:
        return error(400, "InvalidTimeStamp.Expired", "Specified time stamp is expired")
    if params.get("AccessKeyId") != st.aliyun_access_key_id:
        return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found")
    if params.get("Signature") != _expected_signature(st.aliyun_access_key_secret, method, params):
        return error(400, "SignatureDoesNotMatch", "Specified signature is not matched")
    with st.lock:
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in st.aliyun_nonces:
            return error(400, "SignatureNonceUsed", "Specified signature nonce was used already")
        st.aliyun_nonces.add(nonce)
    if params.get("SignName") != st.sign_name:
        return error(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
    template = st.aliyun_templates.get(params.get("TemplateCode", ""))
    if template is None:
        return error(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")
    try:
        values = json.loads(params.get("TemplateParam") or "{}")
    except ValueError:
        return error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
    missing = [name for name in _VARIABLE.findall(template) if name not in values]
    if missing:
        return error(200, "isv.TEMPLATE_MISSING_PARAMETERS", f"模板缺少变量 {missing}")
    phone = params.get("PhoneNumbers", "")
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        return error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    with st.lock:
        if st.failures:
            return error(200, st.failures.pop(0), "simulated failure")
    text = _VARIABLE.sub(lambda m: str(values[m.group(1)]), template)
    serial = st.record("aliyun", phone, params["TemplateCode"], values, text)
    return jsonify(Code="OK", Message="OK", BizId=serial, RequestId=str(uuid.uuid4()))
