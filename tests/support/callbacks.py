"""Signed callbacks for the product's test settings, built by the simulator's builders
(wechatpy's own crypto — not the product's code)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from devtools.wechat_sim import callbacks as sim
from devtools.wechat_sim.config import SimConfig

mp_text_xml = sim.mp_text
mp_event_xml = sim.mp_event
work_text_xml = sim.work_text


def sim_config(settings) -> SimConfig:  # type: ignore[no-untyped-def]
    """The simulator configuration that matches the product's settings."""
    return SimConfig(
        mp_appid=settings.wechat_mp_appid,
        mp_secret=settings.wechat_mp_secret,
        mp_token=settings.wechat_mp_token,
        mp_aes_key=settings.wechat_mp_aes_key,
        work_corp_id=settings.wecom_corp_id,
        work_agent_id=settings.wecom_agent_id,
        work_secret=settings.wecom_secret,
        work_token=settings.wecom_token,
        work_aes_key=settings.wecom_aes_key,
    )


def mp_request(
    settings, xml: str, *, aes: bool = True, timestamp: int | None = None
) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    """(path with query, body) of an official-account callback, safe mode or plaintext."""
    cfg = sim_config(settings) if aes else replace(sim_config(settings), mp_aes_key="")
    signed = sim.sign_mp(
        cfg,
        xml,
        openid=None if xml else "o_nobody",
        timestamp=None if timestamp is None else str(timestamp),
    )
    return f"{signed.path}?{urlencode(signed.query)}", signed.body.encode()


def work_request(settings, xml: str) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    signed = sim.sign_work(sim_config(settings), xml)
    return f"{signed.path}?{urlencode(signed.query)}", signed.body.encode()
