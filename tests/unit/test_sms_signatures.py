"""The SMS gateway's request signature against the provider's own published example, so the
client and the simulator (which share the algorithm's description, not its code) cannot
agree on a wrong signature."""

from __future__ import annotations

import pytest

from bot.adapters.sms import sign_pop


@pytest.mark.req("P3.3")
def test_aliyun_pop_signature_matches_the_documented_sendsms_example():
    # Aliyun SMS documentation, "签名机制" example for SendSms (AccessKeySecret testSecret)
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert sign_pop("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
