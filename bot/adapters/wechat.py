"""WeChat official-account and WeChat Work API clients (wechatpy 1.8.18, hardened).

What wechatpy lacks and this adds (WECHAT.md):
- every request, the access-token fetch and media download included, goes to the
  configured API base (``WECHAT_API_BASE`` / ``WECOM_API_BASE``), so a simulator can stand in;
- one access token shared by every process through Redis, refreshed under a Redis lock so
  concurrent workers do not burn the 2,000-a-day token quota;
- a timeout on every request and a bounded retry on expired / invalid tokens;
- errors classified by meaning: retry later, or give up (and why).
"""

from __future__ import annotations

import copy
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.client.base import BaseWeChatClient
from wechatpy.enterprise import WeChatClient as WeChatWorkClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

log = logging.getLogger(__name__)

TIMEOUT = (5, 15)  # connect, read seconds
TOKEN_ERRORS = {40001, 40014, 42001}
# errcode -> (retryable, reason)
ERRORS: dict[int, tuple[bool, str]] = {
    -1: (True, "system_busy"),  # 系统繁忙
    45009: (True, "daily_quota_exhausted"),  # 接口调用超过限额
    45011: (True, "rate_limited"),  # API 调用太频繁
    45033: (True, "rate_limited"),  # 接口并发调用超过限制
    40001: (True, "token_invalid"),
    40014: (True, "token_invalid"),
    42001: (True, "token_expired"),
    45015: (False, "window_closed"),  # 回复时间超过限制 (48 h customer-service window)
    45047: (False, "reply_count_exceeded"),  # 客服接口下行条数超过上限
    43004: (False, "not_following"),  # 需要接收者关注
    43101: (False, "not_subscribed"),  # 用户拒绝接受消息
    48001: (False, "api_unauthorized"),  # api 功能未授权
    40003: (False, "invalid_openid"),
    40007: (False, "invalid_media_id"),
    40008: (False, "invalid_message_type"),
    44002: (False, "empty_post"),
    47001: (False, "bad_payload"),
    60011: (False, "no_privilege"),
    81013: (False, "user_not_in_range"),
    # group chats (appchat)
    86001: (False, "invalid_chatid"),
    86003: (False, "chat_not_found"),
    86007: (False, "chat_member_count"),  # 2–2,000 members
    86215: (False, "chat_exists"),  # the chatid is taken (ours, after a lost answer)
    86216: (False, "invalid_chat_member"),  # a member not in the corp or the app's range
}


class WeChatError(Exception):
    """A WeChat API call failed. ``retryable`` says whether trying again later may work."""

    def __init__(self, errcode: int | None, errmsg: str, *, retryable: bool, reason: str) -> None:
        super().__init__(f"{reason} ({errcode}): {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.retryable = retryable
        self.reason = reason


def classify(exc: Exception) -> WeChatError:
    if isinstance(exc, WeChatError):
        return exc
    if isinstance(exc, WeChatClientException) and exc.errcode is not None:
        code = int(exc.errcode)
        retryable, reason = ERRORS.get(code, (False, "wechat_error"))
        return WeChatError(code, str(exc.errmsg), retryable=retryable, reason=reason)
    # HTTP 5xx, timeouts, refused connections: the API may come back
    return WeChatError(None, str(exc), retryable=True, reason="network")


class _Hardened(BaseWeChatClient):
    """Mixin over a wechatpy client: configured base URL, shared token, bounded retry."""

    token_path: str
    _redis: redis.Redis | None

    def _token_params(self) -> dict[str, str]:
        raise NotImplementedError

    def _configure(self, api_base: str, redis_conn: redis.Redis | None, prefix: str) -> None:
        self.API_BASE_URL = api_base.rstrip("/") + "/cgi-bin/"
        self._redis = redis_conn
        if redis_conn is not None:
            self.session = RedisStorage(redis_conn, prefix=prefix)
        self.timeout = TIMEOUT

    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch a token under a Redis lock; another process may have just done it."""
        if self._redis is None:
            return self._fetch_now()
        lock = self._redis.lock(
            f"vam:lock:{self.access_token_key}", timeout=30, blocking_timeout=30
        )
        if not lock.acquire():
            raise WeChatError(None, "token refresh lock busy", retryable=True, reason="token_lock")
        try:
            token = self.session.get(self.access_token_key)
            ttl = int(self._redis.ttl(self.session.key_name(self.access_token_key)))  # type: ignore[arg-type]
            if token and ttl and ttl > 120:
                self.expires_at = int(time.time()) + ttl
                return {"access_token": token, "expires_in": ttl}
            return self._fetch_now()
        finally:
            lock.release()

    def _fetch_now(self) -> dict[str, Any]:
        log.info("fetching a new access token from %s", self.API_BASE_URL)
        try:
            res = self._http.get(
                self.API_BASE_URL + self.token_path, params=self._token_params(), timeout=TIMEOUT
            )
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise classify(exc) from exc
        if result.get("errcode"):
            code = int(result["errcode"])
            raise WeChatError(
                code, result.get("errmsg", ""), retryable=code == -1, reason="token_fetch_failed"
            )
        # keep the token a little shorter than WeChat does, so no process uses a dying one
        expires_in = max(60, int(result.get("expires_in", 7200)) - 300)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """wechatpy's request with one token refresh at most, and errors classified."""
        for attempt in (1, 2):
            try_kwargs = copy.deepcopy(kwargs)
            try:
                return super()._request(method, url_or_endpoint, **try_kwargs)
            except WeChatClientException as exc:
                if exc.errcode is not None and int(exc.errcode) in TOKEN_ERRORS and attempt == 1:
                    log.info("access token rejected (%s); refreshing once", exc.errcode)
                    self.session.delete(self.access_token_key)
                    self.expires_at = None  # type: ignore[assignment]
                    kwargs.get("params", {}).pop("access_token", None)
                    continue
                raise classify(exc) from exc
            except requests.RequestException as exc:
                raise classify(exc) from exc
        raise AssertionError("unreachable")

    def download(self, media_id: str) -> tuple[bytes, str]:
        """``media/get``: the bytes and content type of a temporary media (3-day life)."""
        try:
            res = self._http.get(
                self.API_BASE_URL + "media/get",
                params={"access_token": self.access_token, "media_id": media_id},
                timeout=TIMEOUT,
            )
            res.raise_for_status()
        except requests.RequestException as exc:
            raise classify(exc) from exc
        content_type = res.headers.get("Content-Type", "application/octet-stream").split(";")[0]
        if content_type in ("application/json", "text/plain"):
            try:
                result = res.json()
            except ValueError:
                result = {"errcode": 40007, "errmsg": res.text[:200]}
            code = int(result.get("errcode", 40007))
            retryable, reason = ERRORS.get(code, (False, "media_error"))
            raise WeChatError(code, result.get("errmsg", ""), retryable=retryable, reason=reason)
        return res.content, content_type

    def upload_image(self, filename: str, data: bytes, content_type: str) -> str:
        """``media/upload?type=image`` → media_id (valid 3 days)."""
        return self.upload_media("image", filename, data, content_type)

    def upload_media(self, kind: str, filename: str, data: bytes, content_type: str) -> str:
        """``media/upload?type=<kind>`` (image, voice, video, file) → media_id (3 days)."""
        result = self.post(
            "media/upload",
            params={"type": kind},
            files={"media": (filename, data, content_type)},
        )
        return str(result["media_id"])


class MpClient(_Hardened, WeChatClient):
    token_path = "token"

    def __init__(
        self, appid: str, secret: str, api_base: str, redis_conn: redis.Redis | None
    ) -> None:
        super().__init__(appid, secret, timeout=TIMEOUT, auto_retry=False)
        self._configure(api_base, redis_conn, prefix="vam:wechat")

    def _token_params(self) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}

    def jssdk_config(self, url: str) -> dict[str, Any]:
        """What a page passes to ``wx.config`` to use the JS-SDK (choosing and uploading
        photos): the ticket is fetched once per two hours and shared through Redis (wechatpy's
        session storage), the signature covers the page's URL without its fragment."""
        ticket = self.jsapi.get_jsapi_ticket()
        nonce = secrets.token_hex(8)
        timestamp = int(time.time())
        page = url.split("#", 1)[0]
        return {
            "appId": self.appid,
            "timestamp": timestamp,
            "nonceStr": nonce,
            "signature": self.jsapi.get_jsapi_signature(nonce, ticket, timestamp, page),
        }


DUPLICATE_CHECK_SECONDS = 60


class WorkClient(_Hardened, WeChatWorkClient):
    token_path = "gettoken"

    def __init__(
        self, corp_id: str, secret: str, api_base: str, redis_conn: redis.Redis | None
    ) -> None:
        super().__init__(corp_id, secret, timeout=TIMEOUT, auto_retry=False)
        self._configure(api_base, redis_conn, prefix="vam:wecom")

    def _token_params(self) -> dict[str, str]:
        return {"corpid": self.corp_id, "corpsecret": self.secret}


@dataclass
class Senders:
    """The clients that deliver outbox messages, one per channel."""

    mp: MpClient | None
    work: WorkClient | None
    work_agent_id: int
    sms: Any = None  # bot.adapters.sms.TencentSms or AliyunSms, when SMS is configured
    sms_templates: dict[str, str] = field(default_factory=dict)  # message kind -> template id

    def send_sms(self, phone: str, payload: dict[str, Any]) -> str | None:
        """A templated SMS: ``{"template": kind, "params": [...]}``."""
        if self.sms is None:
            raise WeChatError(None, "SMS not configured", retryable=False, reason="not_configured")
        template = self.sms_templates.get(str(payload.get("template")))
        if not template:
            raise WeChatError(
                None,
                f"no SMS template for {payload.get('template')!r}",
                retryable=False,
                reason="template_not_configured",
            )
        kind = str(payload.get("template"))
        result: str = self.sms.send(phone, template, list(payload.get("params") or []), kind=kind)
        return result

    def send_mp(self, openid: str, payload: dict[str, Any]) -> str | None:
        """Customer-service, template or subscribe message to one follower."""
        if self.mp is None:
            raise WeChatError(
                None, "official account not configured", retryable=False, reason="not_configured"
            )
        kind = payload.get("_api", "custom")
        body = {k: v for k, v in payload.items() if not k.startswith("_")}
        path = {
            "custom": "message/custom/send",
            "template": "message/template/send",
            "subscribe": "message/subscribe/bizsend",
        }[kind]
        result = self.mp.post(path, data={"touser": openid, **body})
        msgid = result.get("msgid") if isinstance(result, dict) else None
        return None if msgid is None else str(msgid)

    def send_work(self, recipient: str, payload: dict[str, Any]) -> str | None:
        """``message/send`` to users (``user:a|b``) or ``appchat/send`` to a group chat
        (``chat:id``)."""
        if self.work is None:
            raise WeChatError(
                None, "WeChat Work not configured", retryable=False, reason="not_configured"
            )
        body = {k: v for k, v in payload.items() if not k.startswith("_")}
        if payload.get("_api") == "update_template_card":
            # the clicked card is replaced; the response code is single-use, valid 72 h
            self.work.post(
                "message/update_template_card",
                data={
                    "userids": [recipient.removeprefix("user:")],
                    "agentid": self.work_agent_id,
                    **body,
                },
            )
            return None
        if recipient.startswith("chat:"):
            self.work.post("appchat/send", data={"chatid": recipient[5:], **body})
            return None
        users = recipient.removeprefix("user:")
        result = self.work.post(
            "message/send",
            data={
                "touser": users,
                "agentid": self.work_agent_id,
                # WeChat Work drops identical content within the interval: it covers our own
                # retry after a lost answer, but must not swallow the same answer to a question
                # asked again (a nurse re-asking "今日待维护"), so keep it to a minute
                "enable_duplicate_check": 1,
                "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
                **body,
            },
        )
        msgid = result.get("msgid") if isinstance(result, dict) else None
        return None if msgid is None else str(msgid)

    def create_member(self, userid: str, name: str, mobile: str, department_id: int) -> None:
        """``user/create``: add a person to the corp's directory (approved outside clinicians).
        An existing userid (60102) is taken as already added."""
        if self.work is None:
            raise WeChatError(
                None, "WeChat Work not configured", retryable=False, reason="not_configured"
            )
        try:
            self.work.post(
                "user/create",
                data={
                    "userid": userid,
                    "name": name,
                    "mobile": mobile,
                    "department": [department_id],
                },
            )
        except WeChatError as exc:
            if exc.errcode != 60102:
                raise

    def create_chat(
        self, name: str, owner: str, members: list[str], chat_id: str | None = None
    ) -> str:
        """``appchat/create``: a group chat of 2–2,000 members owned by this app; its id."""
        if self.work is None:
            raise WeChatError(
                None, "WeChat Work not configured", retryable=False, reason="not_configured"
            )
        data: dict[str, Any] = {"name": name, "owner": owner, "userlist": members}
        if chat_id:
            data["chatid"] = chat_id
        return str(self.work.post("appchat/create", data=data)["chatid"])

    def get_chat(self, chat_id: str) -> dict[str, Any] | None:
        """``appchat/get``: the chat's ``chatid``, ``name``, ``owner`` and ``userlist``;
        None if there is no such chat (86003)."""
        if self.work is None:
            raise WeChatError(
                None, "WeChat Work not configured", retryable=False, reason="not_configured"
            )
        try:
            result = self.work.get("appchat/get", params={"chatid": chat_id})
        except WeChatError as exc:
            if exc.errcode == 86003:
                return None
            raise
        info = result.get("chat_info") if isinstance(result, dict) else None
        return dict(info) if isinstance(info, dict) else None

    def update_chat(
        self,
        chat_id: str,
        *,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        name: str | None = None,
        owner: str | None = None,
    ) -> None:
        """``appchat/update``: add or remove members, rename, change the owner."""
        if self.work is None:
            raise WeChatError(
                None, "WeChat Work not configured", retryable=False, reason="not_configured"
            )
        data: dict[str, Any] = {"chatid": chat_id}
        if add:
            data["add_user_list"] = add
        if remove:
            data["del_user_list"] = remove
        if name:
            data["name"] = name
        if owner:
            data["owner"] = owner
        self.work.post("appchat/update", data=data)
