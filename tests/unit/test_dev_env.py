"""`make run` points every process at the simulators and at one public base URL."""

from devtools.dev_env import exports


def test_every_process_gets_the_same_public_base_url_and_the_simulators():
    lines = dict(line.removeprefix("export ").split("=", 1) for line in exports({"PORT": "5000"}))
    assert (
        lines["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    )  # not each honcho process's own $PORT
    assert lines["INTERNET_HOSPITAL_BASE"] == "http://127.0.0.1:5082"
    assert lines["SMS_PROVIDER"] == "tencent"


def test_configured_values_and_real_credentials_win():
    assert not any(
        line.startswith("export PUBLIC_BASE_URL=")
        for line in exports({"PUBLIC_BASE_URL": "https://vam.example-hospital.cn"})
    )
    assert exports({"WECHAT_MP_APPID": "wx_real"}) == []


def test_aliyun_sms_chosen_gets_the_simulators_aliyun_credentials():
    lines = dict(
        line.removeprefix("export ").split("=", 1) for line in exports({"SMS_PROVIDER": "aliyun"})
    )
    assert "SMS_PROVIDER" not in lines and lines["SMS_SECRET_ID"] == "LTAIsimulator"
    assert "SMS_1000003" in lines["SMS_TEMPLATES"]
