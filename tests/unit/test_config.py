"""Settings come from the environment; bad ones stop start-up naming the variable."""

import base64

import pytest

from bot.config import ConfigError, load_settings

KEY = base64.urlsafe_b64encode(b"x" * 32).decode()


def test_embedded_defaults_need_no_configuration(tmp_path):
    s = load_settings({"INSTANCE_PATH": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'vam.db'}"
    assert s.redis_url is None  # embedded Redis
    assert len(s.data_key) == 32
    assert (tmp_path / "data_key").stat().st_mode & 0o777 == 0o600
    # the generated dev keys are stable across restarts
    again = load_settings({"INSTANCE_PATH": str(tmp_path)})
    assert (again.data_key, again.secret_key) == (s.data_key, s.secret_key)


def test_a_relative_media_root_is_made_absolute(tmp_path, monkeypatch):
    """Files are named in the database by their path: it must not depend on where a process
    was started."""
    monkeypatch.chdir(tmp_path)
    s = load_settings({"INSTANCE_PATH": str(tmp_path), "MEDIA_ROOT": "media"})
    assert s.media_root == tmp_path / "media" and s.media_root.is_absolute()


def test_postgres_url_gets_the_psycopg2_driver(tmp_path):
    s = load_settings(
        {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql://u:p@db:5432/vam"}
    )
    assert s.database_url == "postgresql+psycopg2://u:p@db:5432/vam"


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "://nothing"])
def test_unusable_database_url_names_the_variable(tmp_path, url):
    with pytest.raises(ConfigError, match="^DATABASE_URL"):
        load_settings({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})


def _production(tmp_path, **extra: str) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": "postgresql://u@db/vam",
        "REDIS_URL": "redis://redis:6379/0",
        "SECRET_KEY": "s" * 40,
        "DATA_KEY": KEY,
        **extra,
    }


@pytest.mark.parametrize("missing", ["DATA_KEY", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_requires_explicit_secrets_and_services(tmp_path, missing):
    env = _production(tmp_path)
    del env[missing]
    with pytest.raises(ConfigError, match=f"^{missing}: required when APP_ENV=production"):
        load_settings(env)
    assert not (tmp_path / "data_key").exists()


@pytest.mark.parametrize("bad", ["short", base64.urlsafe_b64encode(b"x" * 16).decode(), "!!!"])
def test_data_key_must_be_32_bytes_of_base64(tmp_path, bad):
    with pytest.raises(ConfigError, match="^DATA_KEY"):
        load_settings({"INSTANCE_PATH": str(tmp_path), "DATA_KEY": bad})


def test_unknown_app_env_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="^APP_ENV"):
        load_settings({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "prod"})


def test_bad_redis_url_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="^REDIS_URL"):
        load_settings({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "localhost:6379"})


def test_wechat_api_bases_default_to_the_real_hosts_and_can_be_overridden(tmp_path):
    s = load_settings({"INSTANCE_PATH": str(tmp_path)})
    assert s.wechat_api_base == "https://api.weixin.qq.com"
    assert s.wecom_api_base == "https://qyapi.weixin.qq.com"
    s2 = load_settings(
        {"INSTANCE_PATH": str(tmp_path), "WECHAT_API_BASE": "http://127.0.0.1:9000/"}
    )
    assert s2.wechat_api_base == "http://127.0.0.1:9000"


def test_sms_provider_tencent_or_aliyun_each_with_its_own_default_host(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path)}
    assert (
        load_settings({**env, "SMS_PROVIDER": "tencent"}).sms_api_base
        == "https://sms.tencentcloudapi.com"
    )
    assert (
        load_settings({**env, "SMS_PROVIDER": "aliyun"}).sms_api_base
        == "https://dysmsapi.aliyuncs.com"
    )
    assert (
        load_settings({**env, "SMS_PROVIDER": "aliyun", "SMS_API_BASE": "http://sim/"}).sms_api_base
        == "http://sim"
    )
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        load_settings({**env, "SMS_PROVIDER": "twilio"})


def test_the_wechat_reminder_is_a_subscribe_message_unless_template_is_chosen(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path)}
    assert load_settings(env).wechat_reminder_message == "subscribe"
    assert (
        load_settings({**env, "WECHAT_REMINDER_MESSAGE": "template"}).wechat_reminder_message
        == "template"
    )
    with pytest.raises(ConfigError, match="WECHAT_REMINDER_MESSAGE"):
        load_settings({**env, "WECHAT_REMINDER_MESSAGE": "sms"})


def test_the_official_account_is_in_safe_mode_by_default_when_it_has_an_aes_key(tmp_path):
    from bot.config import load_settings

    base = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s", "DATA_KEY": "a" * 43 + "="}
    assert load_settings({**base, "WECHAT_MP_AES_KEY": "k" * 43}).wechat_mp_mode == "safe"
    assert load_settings(base).wechat_mp_mode == "plain"
    chosen = {**base, "WECHAT_MP_AES_KEY": "k" * 43, "WECHAT_MP_MODE": "compatible"}
    assert load_settings(chosen).wechat_mp_mode == "compatible"


def test_a_mode_that_cannot_work_stops_start_up_naming_the_variable(tmp_path):
    from bot.config import ConfigError, load_settings

    base = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s", "DATA_KEY": "a" * 43 + "="}
    with pytest.raises(ConfigError, match="WECHAT_MP_MODE"):
        load_settings({**base, "WECHAT_MP_MODE": "safe"})  # no AES key
    with pytest.raises(ConfigError, match="WECHAT_MP_MODE"):
        load_settings({**base, "WECHAT_MP_AES_KEY": "k" * 43, "WECHAT_MP_MODE": "secure"})


@pytest.mark.req("A7.6")
@pytest.mark.parametrize(
    "url", ["http://lowcode.hospital.cn/api", "lowcode.hospital.cn", "ftp://lowcode", "https://"]
)
def test_a7_6_production_refuses_a_low_code_url_that_is_not_https(tmp_path, url):
    env = _production(tmp_path, LOWCODE_BASE_URL=url, LOWCODE_API_KEY="k")
    with pytest.raises(ConfigError, match="^LOWCODE_BASE_URL: must be https://"):
        load_settings(env)


@pytest.mark.req("A7.6")
@pytest.mark.parametrize(
    "url", ["https://lowcode.hospital.cn/api/", "http://localhost:8080", "http://127.0.0.1:8080"]
)
def test_a7_6_production_takes_an_https_or_local_low_code_url(tmp_path, url):
    env = _production(tmp_path, LOWCODE_BASE_URL=url, LOWCODE_API_KEY="k")
    assert load_settings(env).lowcode_base_url == url.rstrip("/")


@pytest.mark.req("A7.6")
def test_a7_6_development_may_use_a_plain_http_low_code_url(tmp_path):
    env = {
        "INSTANCE_PATH": str(tmp_path),
        "LOWCODE_BASE_URL": "http://lowcode.test:8080",
        "LOWCODE_API_KEY": "k",
    }
    assert load_settings(env).lowcode_base_url == "http://lowcode.test:8080"
