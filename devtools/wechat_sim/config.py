"""Configuration of the WeChat simulator, and the development defaults in one place.

The environment names are the product's own (``WECHAT_MP_*``, ``WECOM_*``,
``PRODUCT_BASE_URL``), so one ``.env`` drives both. The product's development setup imports
:data:`DEV_DEFAULTS` from here, so the simulator and the product always agree on the secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Two fixed, valid 43-character EncodingAESKeys (base64 of 32 bytes without the "=").
DEV_MP_AES_KEY = "dmFzY3VsYXItYWNjZXNzLXNpbS1tcC1hZXMta2V5MDE"
DEV_WORK_AES_KEY = "dmFzY3VsYXItYWNjZXNzLXNpbS13b3JrLWFlc2tleTE"

# Environment variable -> development default.
DEV_DEFAULTS: dict[str, str] = {
    "WECHAT_MP_APPID": "wx_sim_appid",
    "WECHAT_MP_SECRET": "sim_mp_secret",
    "WECHAT_MP_TOKEN": "sim_mp_token",
    "WECHAT_MP_AES_KEY": DEV_MP_AES_KEY,
    "WECOM_CORP_ID": "ww_sim_corp",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "sim_work_secret",
    "WECOM_TOKEN": "sim_work_token",
    "WECOM_AES_KEY": DEV_WORK_AES_KEY,
    "PRODUCT_BASE_URL": "http://127.0.0.1:5000",
}

DEFAULT_SIM_PORT = 9100
# The official account's original id ("gh_…"): the ToUserName of every MP callback.
DEFAULT_MP_ORIGINAL_ID = "gh_sim_vascular"

# What the product sets to talk to the simulator (for the dev setup and the README).
DEV_API_BASES: dict[str, str] = {
    "WECHAT_API_BASE": f"http://127.0.0.1:{DEFAULT_SIM_PORT}/mp",
    "WECOM_API_BASE": f"http://127.0.0.1:{DEFAULT_SIM_PORT}/work",
}


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class SimConfig:
    """Everything the simulator needs; ``SimConfig()`` is the development setup."""

    mp_appid: str = DEV_DEFAULTS["WECHAT_MP_APPID"]
    mp_secret: str = DEV_DEFAULTS["WECHAT_MP_SECRET"]
    mp_token: str = DEV_DEFAULTS["WECHAT_MP_TOKEN"]
    mp_aes_key: str = DEV_DEFAULTS["WECHAT_MP_AES_KEY"]  # "" = plaintext mode
    mp_original_id: str = DEFAULT_MP_ORIGINAL_ID
    work_corp_id: str = DEV_DEFAULTS["WECOM_CORP_ID"]
    work_agent_id: str = DEV_DEFAULTS["WECOM_AGENT_ID"]
    work_secret: str = DEV_DEFAULTS["WECOM_SECRET"]
    work_token: str = DEV_DEFAULTS["WECOM_TOKEN"]
    work_aes_key: str = DEV_DEFAULTS["WECOM_AES_KEY"]
    product_base_url: str = DEV_DEFAULTS["PRODUCT_BASE_URL"]
    host: str = "127.0.0.1"
    port: int = DEFAULT_SIM_PORT
    # Seconds the simulator waits for the product to answer a callback (WeChat: 5 s).
    callback_timeout: float = 5.0
    # False (default): messages to any openid / userid are delivered, as if everyone had
    # followed the account / were a member. True: unknown users get 40003 / invaliduser.
    strict_users: bool = False
    # WeChat Work drops messages silently past 30 a minute / 1,000 an hour per member.
    work_rate_limit: bool = True
    # Group chats (appchat) need the app's visible range to be the whole corporation (the
    # root department); False makes appchat/create|update|send answer 60011.
    work_app_visible_to_all: bool = True
    # At most 1,000 new group chats per corporation a day; appchat/update at most 1,000
    # member changes an hour. Lower them in tests to reach the limits.
    appchat_daily_create_limit: int = 1000
    appchat_hourly_change_limit: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SimConfig:
        """Read the product's variable names; unset names keep the development default.

        ``WECHAT_MP_AES_KEY`` set to an empty string selects plaintext mode (it is not
        replaced by the default).
        """

        def get(name: str) -> str:
            return env[name] if name in env else DEV_DEFAULTS[name]

        return cls(
            mp_appid=get("WECHAT_MP_APPID"),
            mp_secret=get("WECHAT_MP_SECRET"),
            mp_token=get("WECHAT_MP_TOKEN"),
            mp_aes_key=get("WECHAT_MP_AES_KEY").strip(),
            mp_original_id=env.get("SIM_MP_ORIGINAL_ID", DEFAULT_MP_ORIGINAL_ID),
            work_corp_id=get("WECOM_CORP_ID"),
            work_agent_id=get("WECOM_AGENT_ID"),
            work_secret=get("WECOM_SECRET"),
            work_token=get("WECOM_TOKEN"),
            work_aes_key=get("WECOM_AES_KEY").strip(),
            product_base_url=get("PRODUCT_BASE_URL").rstrip("/"),
            host=env.get("SIM_HOST", "127.0.0.1"),
            port=int(env.get("SIM_PORT", str(DEFAULT_SIM_PORT))),
            callback_timeout=float(env.get("SIM_CALLBACK_TIMEOUT", "5")),
            strict_users=_flag(env.get("SIM_STRICT_USERS", "0")),
            work_rate_limit=_flag(env.get("SIM_WORK_RATE_LIMIT", "1")),
            work_app_visible_to_all=_flag(env.get("SIM_WORK_APP_VISIBLE_TO_ALL", "1")),
        )

    @property
    def mp_encrypted(self) -> bool:
        return bool(self.mp_aes_key)

    def as_env(self) -> dict[str, str]:
        """The product's environment matching this configuration (API bases included)."""
        base = f"http://{self.host}:{self.port}"
        return {
            "WECHAT_MP_APPID": self.mp_appid,
            "WECHAT_MP_SECRET": self.mp_secret,
            "WECHAT_MP_TOKEN": self.mp_token,
            "WECHAT_MP_AES_KEY": self.mp_aes_key,
            "WECOM_CORP_ID": self.work_corp_id,
            "WECOM_AGENT_ID": self.work_agent_id,
            "WECOM_SECRET": self.work_secret,
            "WECOM_TOKEN": self.work_token,
            "WECOM_AES_KEY": self.work_aes_key,
            "WECHAT_API_BASE": f"{base}/mp",
            "WECOM_API_BASE": f"{base}/work",
        }
