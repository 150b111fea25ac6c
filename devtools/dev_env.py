"""``python -m devtools.dev_env`` prints shell exports that point a development run at the
simulators: every WeChat setting not already configured (in the environment or .env) gets
the simulator's development value. Production never runs this."""

from __future__ import annotations

import json
import os
import shlex

from dotenv import dotenv_values

from devtools.wechat_sim.config import DEV_API_BASES, DEV_DEFAULTS

# message kind -> the simulator's approved template ids
SMS_DEV_TEMPLATES = {
    "application_approved": "1000001",
    "application_rejected": "1000002",
    "reminder_due": "1000003",
    "reminder_overdue": "1000004",
}
# the same with the simulator's Aliyun template codes
SMS_DEV_TEMPLATES_ALIYUN = {kind: f"SMS_{code}" for kind, code in SMS_DEV_TEMPLATES.items()}


def exports(environ: dict[str, str]) -> list[str]:
    configured = {**{k: v for k, v in dotenv_values(".env").items() if v}, **environ}
    wanted = {**DEV_DEFAULTS, **DEV_API_BASES}
    if configured.get("WECHAT_MP_APPID") and not configured.get("WECHAT_API_BASE"):
        return []  # real credentials given: talk to the real WeChat
    port = configured.get("PORT", "5000")
    wanted["PRODUCT_BASE_URL"] = f"http://127.0.0.1:{port}"
    # every process builds links (QR codes, H5 pages) from the same base: honcho gives each
    # process its own PORT, so the default "127.0.0.1:$PORT" would differ between them
    wanted["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    wanted["WECOM_OUTSIDE_DEPARTMENT_ID"] = "5"  # the simulator's 外院医护 department
    # the internet-hospital simulator (devtools/ih_sim, Procfile "ihsim")
    wanted["INTERNET_HOSPITAL_BASE"] = f"http://127.0.0.1:{configured.get('IH_SIM_PORT', '5082')}"
    wanted["INTERNET_HOSPITAL_CLIENT_ID"] = "vam-dev"
    wanted["INTERNET_HOSPITAL_CLIENT_SECRET"] = "vam-dev-secret"
    # the SMS simulator (devtools/sms_sim, Procfile "smssim"): Tencent Cloud SMS API 3.0, or
    # Aliyun SMS with SMS_PROVIDER=aliyun
    from devtools.sms_sim import (
        DEV_SDK_APP_ID,
        DEV_SECRET_ID,
        DEV_SECRET_KEY,
        DEV_SIGN_NAME,
        aliyun,
    )

    wanted["SMS_PROVIDER"] = "tencent"
    wanted["SMS_API_BASE"] = f"http://127.0.0.1:{configured.get('SMS_SIM_PORT', '5083')}"
    wanted["SMS_SECRET_ID"] = DEV_SECRET_ID
    wanted["SMS_SECRET_KEY"] = DEV_SECRET_KEY
    wanted["SMS_SDK_APP_ID"] = DEV_SDK_APP_ID
    wanted["SMS_SIGN_NAME"] = DEV_SIGN_NAME
    wanted["SMS_TEMPLATES"] = json.dumps(SMS_DEV_TEMPLATES)
    if configured.get("SMS_PROVIDER") == "aliyun":
        wanted["SMS_SECRET_ID"] = aliyun.DEV_ACCESS_KEY_ID
        wanted["SMS_SECRET_KEY"] = aliyun.DEV_ACCESS_KEY_SECRET
        wanted["SMS_TEMPLATES"] = json.dumps(SMS_DEV_TEMPLATES_ALIYUN)
    # the Tencent Location Service simulator (devtools/lbs_sim, Procfile "lbssim"): the geocoder
    from devtools.lbs_sim import DEV_KEY as LBS_DEV_KEY
    from devtools.lbs_sim import DEV_SECRET_KEY as LBS_DEV_SECRET_KEY

    if not configured.get("LBS_KEY"):
        wanted["LBS_API_BASE"] = f"http://127.0.0.1:{configured.get('LBS_SIM_PORT', '5084')}"
        wanted["LBS_KEY"] = LBS_DEV_KEY
        wanted["LBS_SECRET_KEY"] = LBS_DEV_SECRET_KEY
    # the low-code platform simulator (devtools/lowcode_sim, Procfile "lowcodesim"): exports
    # and the monthly indicator set are pushed there
    from devtools.lowcode_sim import DEV_API_KEY as LOWCODE_DEV_API_KEY

    if not configured.get("LOWCODE_BASE_URL"):
        port = configured.get("LOWCODE_SIM_PORT", "5085")
        wanted["LOWCODE_BASE_URL"] = f"http://127.0.0.1:{port}"
        wanted["LOWCODE_API_KEY"] = LOWCODE_DEV_API_KEY
    return [f"export {k}={shlex.quote(v)}" for k, v in wanted.items() if not configured.get(k)]


if __name__ == "__main__":
    print("\n".join(exports(dict(os.environ))))
