"""Build the adapters to the outside world from settings (one place, one process each)."""

from __future__ import annotations

from typing import Any

import redis

import cards
from bot.adapters.media import MediaStore, UploadCache
from bot.adapters.rasa import RasaEngine
from bot.adapters.sms import AliyunSms, TencentSms
from bot.adapters.wechat import MpClient, Senders, WorkClient
from bot.config import Settings
from bot.models.enums import Channel


def wechat_clients(
    settings: Settings, conn: redis.Redis | None
) -> tuple[MpClient | None, WorkClient | None]:
    mp = (
        MpClient(
            settings.wechat_mp_appid, settings.wechat_mp_secret, settings.wechat_api_base, conn
        )
        if settings.wechat_mp_appid and settings.wechat_mp_secret
        else None
    )
    work = (
        WorkClient(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_api_base, conn)
        if settings.wecom_corp_id and settings.wecom_secret
        else None
    )
    return mp, work


def sms_gateway(settings: Settings) -> TencentSms | AliyunSms | None:
    if settings.sms_provider == "aliyun":
        return AliyunSms(settings.sms_api_base, settings.sms_secret_id, settings.sms_secret_key,
                         settings.sms_sign_name)  # fmt: skip
    if settings.sms_provider != "tencent":
        return None
    return TencentSms(settings.sms_api_base, settings.sms_secret_id, settings.sms_secret_key,
                      settings.sms_sdk_app_id, settings.sms_sign_name)  # fmt: skip


def build_adapters(settings: Settings, conn: redis.Redis) -> dict[str, Any]:
    mp, work = wechat_clients(settings, conn)
    store = MediaStore(settings.media_root)

    def fetch_media(channel: Channel, media_id: str) -> dict[str, Any]:
        client = mp if channel is Channel.MP else work
        if client is None:
            return {"media_error": "not_configured"}
        stored = store.fetch_inbound(client, media_id)
        return {
            "media_path": str(stored.path),
            "sha256": stored.sha256,
            "content_type": stored.content_type,
        }

    return {
        "engine": RasaEngine(settings.rasa_url),
        "render": cards.render,
        "senders": Senders(
            mp=mp,
            work=work,
            work_agent_id=int(settings.wecom_agent_id or 0),
            sms=sms_gateway(settings),
            sms_templates=settings.sms_templates,
        ),
        "uploads": UploadCache(conn),
        "fetch_media": fetch_media,
        "media_store": store,
    }
