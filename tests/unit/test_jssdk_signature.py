"""The JS-SDK signature the nearby and report pages pass to ``wx.config``, checked against the
example of WeChat's JS-SDK documentation (附录1-JS-SDK使用权限签名算法)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.adapters import wechat
from bot.adapters.wechat import MpClient

# the documented example
NONCE = "Wm3WZYTPz0wzccnW"
TICKET = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
TIMESTAMP = 1414587457
URL = "http://mp.weixin.qq.com?params=value"
SIGNATURE = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


@pytest.mark.req("P5.1")
def test_p5_1_jssdk_config_signs_the_documented_example(monkeypatch):
    client = MpClient("wx_appid", "secret", "http://127.0.0.1:9", None)
    monkeypatch.setattr(client.jsapi, "get_jsapi_ticket", lambda: TICKET)
    monkeypatch.setattr(wechat, "secrets", SimpleNamespace(token_hex=lambda n: NONCE))
    monkeypatch.setattr(wechat, "time", SimpleNamespace(time=lambda: TIMESTAMP + 0.4))
    config = client.jssdk_config(URL + "#wechat_redirect")  # the fragment is not signed
    assert config == {
        "appId": "wx_appid",
        "timestamp": TIMESTAMP,
        "nonceStr": NONCE,
        "signature": SIGNATURE,
    }
