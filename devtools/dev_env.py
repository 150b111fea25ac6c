"""``python -m devtools.dev_env`` prints shell exports that point a development run at the
simulators: every WeChat setting not already configured (in the environment or .env) gets
the simulator's development value. Production never runs this."""

from __future__ import annotations

import os
import shlex

from dotenv import dotenv_values

from devtools.wechat_sim.config import DEV_API_BASES, DEV_DEFAULTS


def exports(environ: dict[str, str]) -> list[str]:
    configured = {**{k: v for k, v in dotenv_values(".env").items() if v}, **environ}
    wanted = {**DEV_DEFAULTS, **DEV_API_BASES}
    if configured.get("WECHAT_MP_APPID") and not configured.get("WECHAT_API_BASE"):
        return []  # real credentials given: talk to the real WeChat
    port = configured.get("PORT", "5000")
    wanted["PRODUCT_BASE_URL"] = f"http://127.0.0.1:{port}"
    wanted["WECOM_OUTSIDE_DEPARTMENT_ID"] = "5"  # the simulator's 外院医护 department
    # the internet-hospital simulator (devtools/ih_sim, Procfile "ihsim")
    wanted["INTERNET_HOSPITAL_BASE"] = f"http://127.0.0.1:{configured.get('IH_SIM_PORT', '5082')}"
    wanted["INTERNET_HOSPITAL_CLIENT_ID"] = "vam-dev"
    wanted["INTERNET_HOSPITAL_CLIENT_SECRET"] = "vam-dev-secret"
    return [f"export {k}={shlex.quote(v)}" for k, v in wanted.items() if not configured.get(k)]


if __name__ == "__main__":
    print("\n".join(exports(dict(os.environ))))
