"""The long-lived collaborators of one process, typed, in one place.

``server.bootstrap.bootstrap(settings)`` builds a ``Container`` for every process — the web
app, the RQ worker and the action server — so no module builds its own engine, Redis client,
cipher, QR codes or WeChat clients. Each collaborator is made on first use: building a
container connects to nothing (the embedded Redis starts only when Redis is first needed).

Jobs and actions run in processes that serve one container, installed once at start-up
(``install``) and read with ``current()``; the web app keeps its own on the Flask app
(``web.container()``), so tests can run several apps side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from bot.adapters.lbs import TencentGeocoder
from bot.adapters.lowcode import LowcodeClient
from bot.adapters.media import MediaStore, UploadCache
from bot.adapters.rasa import RasaEngine
from bot.adapters.sms import AliyunSms, TencentSms
from bot.adapters.wechat import MpClient, Senders, WorkClient
from bot.config import Settings
from bot.db import make_engine, make_session_factory
from bot.dialogue import DialogueEngine, Reply
from bot.infra import redis as redis_infra
from bot.models.enums import Channel
from bot.security.crypto import PiiCipher
from bot.services.qr import QrCodes
from bot.uow import UnitOfWork

# (reply, channel) -> [(msg_type, payload)]: cards.render in production
Renderer = Callable[[Reply, Channel], list[tuple[str, dict[str, Any]]]]
SmsGateway = TencentSms | AliyunSms


@dataclass
class Container:
    """Settings plus everything built from them. A test hands in a collaborator of its own
    by assigning it (``c.senders = fake``) before first use, or through ``bootstrap``."""

    settings: Settings
    render: Renderer

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def request_sessions(self) -> scoped_session[Session]:
        """One session per web request (thread), removed when the request ends; Flask-Admin's
        model views and ``web.uow()`` share it."""
        return scoped_session(self.session_factory)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis_infra.connect(self.settings)

    @cached_property
    def cipher(self) -> PiiCipher:
        return PiiCipher(self.settings.data_key)

    @cached_property
    def qr(self) -> QrCodes:
        return QrCodes.from_settings(self.settings)

    @cached_property
    def dialogue(self) -> DialogueEngine:
        return RasaEngine(self.settings.rasa_url)

    @cached_property
    def mp(self) -> MpClient | None:
        s = self.settings
        if not (s.wechat_mp_appid and s.wechat_mp_secret):
            return None
        return MpClient(s.wechat_mp_appid, s.wechat_mp_secret, s.wechat_api_base, self.redis)

    @cached_property
    def work(self) -> WorkClient | None:
        s = self.settings
        if not (s.wecom_corp_id and s.wecom_secret):
            return None
        return WorkClient(s.wecom_corp_id, s.wecom_secret, s.wecom_api_base, self.redis)

    @cached_property
    def sms(self) -> SmsGateway | None:
        s = self.settings
        if s.sms_provider == "aliyun":
            return AliyunSms(s.sms_api_base, s.sms_secret_id, s.sms_secret_key, s.sms_sign_name)
        if s.sms_provider != "tencent":
            return None
        return TencentSms(
            s.sms_api_base, s.sms_secret_id, s.sms_secret_key, s.sms_sdk_app_id, s.sms_sign_name
        )

    @cached_property
    def geocoder(self) -> TencentGeocoder | None:
        """Tencent Location Service's geocoder (LBS_KEY), or None: coordinates typed by hand."""
        s = self.settings
        if not s.lbs_key:
            return None
        return TencentGeocoder(s.lbs_api_base, s.lbs_key, s.lbs_secret_key)

    @cached_property
    def lowcode(self) -> LowcodeClient | None:
        """The hospital's low-code platform (LOWCODE_BASE_URL), or None: nothing is pushed."""
        s = self.settings
        if not s.lowcode_base_url:
            return None
        return LowcodeClient(s.lowcode_base_url, s.lowcode_api_key)

    @cached_property
    def senders(self) -> Senders:
        return Senders(
            mp=self.mp,
            work=self.work,
            work_agent_id=int(self.settings.wecom_agent_id or 0),
            sms=self.sms,
            sms_templates=self.settings.sms_templates,
        )

    @cached_property
    def media(self) -> MediaStore:
        return MediaStore(self.settings.media_root)

    @cached_property
    def uploads(self) -> UploadCache:
        return UploadCache(self.redis)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def fetch_media(self, channel: Channel, media_id: str) -> dict[str, Any]:
        """Download an inbound photo or voice into MEDIA_ROOT (content-hash name)."""
        client = self.mp if channel is Channel.MP else self.work
        if client is None:
            return {"media_error": "not_configured"}
        stored = self.media.fetch_inbound(client, media_id)
        return {
            "media_path": str(stored.path),
            "sha256": stored.sha256,
            "content_type": stored.content_type,
        }


_installed: Container | None = None


def install(c: Container | None) -> None:
    """The container of this process (worker, action server); ``None`` forgets it (tests)."""
    global _installed
    _installed = c


def current() -> Container:
    if _installed is None:
        raise RuntimeError(
            "no container installed: start jobs with `python -m server.worker` and actions "
            "with `python -m server.actions`"
        )
    return _installed
