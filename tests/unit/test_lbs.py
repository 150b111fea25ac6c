"""Tencent Location Service without I/O: the SN signature rule, and `make run` pointing the
geocoder at its simulator unless a real key is configured."""

from __future__ import annotations

import hashlib

import pytest

from bot.adapters.lbs import signature
from devtools.dev_env import exports
from devtools.lbs_sim import DEV_KEY


@pytest.mark.req("A3.1")
def test_a3_1_the_sn_signature_sorts_parameters_and_leaves_values_unencoded():
    """Tencent's rule: md5(path + "?" + k=v sorted by name, raw values + SK), lowercase."""
    params = {"location": "28.7033487,115.8660847", "key": "K", "address": "杭州市 文三路"}
    expected = "/ws/geocoder/v1?address=杭州市 文三路&key=K&location=28.7033487,115.8660847SK"
    assert signature("/ws/geocoder/v1", params, "SK") == hashlib.md5(expected.encode()).hexdigest()
    assert signature("/ws/geocoder/v1", {**params, "sig": "old"}, "SK") == signature(
        "/ws/geocoder/v1", params, "SK"
    )  # a sig already there is not signed


@pytest.mark.req("A3.1")
def test_a3_1_development_uses_the_lbs_simulator_unless_a_key_is_configured():
    lines = dict(line.removeprefix("export ").split("=", 1) for line in exports({}))
    assert lines["LBS_API_BASE"] == "http://127.0.0.1:5084" and lines["LBS_KEY"] == DEV_KEY
    real = exports({"LBS_KEY": "REAL-KEY"})
    assert not any(line.startswith(("export LBS_API_BASE=", "export LBS_KEY=")) for line in real)
