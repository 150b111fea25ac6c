"""The two WeChat callbacks: verify, decrypt, dedupe, persist, enqueue, answer "success".

No dialogue work happens here: WeChat wants an answer within 5 seconds and retries 3 times.
A message is committed to the inbox before it is acknowledged; a retried delivery hits the
inbox's unique key and is acknowledged without a second turn.

A plain WSGI app mounted at ``/wechat`` beside the Flask app (``init_app``), not a blueprint:
a callback needs none of what a page needs (sign-in session, rate limiter, CSRF, the
request's unit of work), and Flask's per-request machinery was a third of a callback's time.
It is the hottest path of the service; the benchmark (bench/callback_ack.py) holds it to the
floor of its guarantee.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, cast

import redis
from flask import Flask
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeChatWorkCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature
from werkzeug.exceptions import HTTPException, abort
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bot.channels import inbox, messages
from bot.container import Container
from bot.jobs.queues import enqueue_turn
from bot.models.enums import Channel

log = logging.getLogger(__name__)

TIMESTAMP_WINDOW = 300  # seconds either side of our clock

PREFIX = "/wechat"


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _check_timestamp(request: Request) -> str:
    timestamp = request.args.get("timestamp", "")
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        skew = float("inf")
    if skew > TIMESTAMP_WINDOW:
        log.warning(
            "callback with stale or missing timestamp %r from %s", timestamp, request.remote_addr
        )
        abort(403)
    return timestamp


def _body(request: Request) -> bytes:
    if (request.content_length or 0) > messages.MAX_CALLBACK_BYTES:
        log.warning(
            "oversized callback (%s bytes) from %s", request.content_length, request.remote_addr
        )
        abort(400)
    # read at most one byte past the limit, whatever the length says (a chunked body has none)
    body = request.stream.read(messages.MAX_CALLBACK_BYTES + 1)
    if len(body) > messages.MAX_CALLBACK_BYTES:
        abort(400)
    return body


def official_account(c: Container, request: Request) -> Response:
    s = c.settings
    if not s.wechat_mp_token:
        abort(503, "official account not configured")
    timestamp = _check_timestamp(request)
    nonce = request.args.get("nonce", "")
    try:
        check_signature(s.wechat_mp_token, request.args.get("signature", ""), timestamp, nonce)
    except InvalidSignatureException:
        log.warning("official-account callback with a bad signature from %s", request.remote_addr)
        abort(403)
    if request.method == "GET":  # URL verification when the callback is configured
        return _plain(request.args.get("echostr", ""))
    body = _body(request)
    encrypted = request.args.get("encrypt_type") == "aes"
    if s.wechat_mp_mode == "safe" and not encrypted:
        # in plaintext the signature does not cover the body: anyone who saw one signed URL
        # could post any message from any openid
        log.warning("plaintext callback refused in safe mode from %s", request.remote_addr)
        abort(403)
    plain = body
    if encrypted:
        if not s.wechat_mp_aes_key:
            abort(400, "safe mode callback but WECHAT_MP_AES_KEY is not set")
        crypto = WeChatCrypto(s.wechat_mp_token, s.wechat_mp_aes_key, s.wechat_mp_appid)
        plain = _decrypt(request, crypto, body)  # checks msg_signature over the encrypted body
    else:
        _refuse_replay(c, request, Channel.MP, timestamp, body)
    return _accept(c, request, Channel.MP, plain)


def wechat_work(c: Container, request: Request) -> Response:
    s = c.settings
    if not (s.wecom_token and s.wecom_aes_key):
        abort(503, "WeChat Work app not configured")
    timestamp = _check_timestamp(request)
    nonce = request.args.get("nonce", "")
    signature = request.args.get("msg_signature", "")
    crypto = WeChatWorkCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
    if request.method == "GET":
        try:
            echo = crypto.check_signature(
                signature, timestamp, nonce, request.args.get("echostr", "")
            )
        except (InvalidSignatureException, InvalidAppIdException, ValueError):
            log.warning(
                "WeChat Work URL verification with a bad signature from %s", request.remote_addr
            )
            abort(403)
        return _plain(echo.decode() if isinstance(echo, bytes) else echo)
    # msg_signature covers the encrypted body: a replay can only resend the same message, which
    # the inbox's key takes once (see _refuse_replay)
    return _accept(c, request, Channel.WORK, _decrypt(request, crypto, _body(request)))


def _refuse_replay(
    c: Container, request: Request, channel: Channel, timestamp: str, body: bytes
) -> None:
    """403 for a verified plaintext (timestamp, nonce, signature) seen before with another body.

    A plaintext signature covers the token, timestamp and nonce, not the body: a new body under
    a seen signature is a replay. WeChat retries a callback it had no answer to with the same
    query and body, so the same body again passes (the inbox's key then acknowledges it without
    a second turn). An encrypted callback needs no such check: its msg_signature covers the
    body, so a replay can only be that resend. Kept in Redis for the timestamp window on either
    side; if Redis is down the check is skipped (logged): the message still reaches the inbox.
    """
    nonce, signature = request.args.get("nonce", ""), request.args.get("signature", "")
    key = f"wechat:seen:{channel.value}:{timestamp}:{nonce}:{signature}"
    digest = hashlib.sha256(body).hexdigest()
    try:
        conn = c.redis
        if conn.set(key, digest, nx=True, ex=2 * TIMESTAMP_WINDOW):
            return
        seen = cast(bytes | None, conn.get(key))
    except redis.RedisError:
        log.warning("replay check skipped for a %s callback: Redis unavailable", channel.value)
        return
    if seen is not None and seen.decode() != digest:
        log.warning("replayed %s callback signature from %s", channel.value, request.remote_addr)
        abort(403)


def _decrypt(request: Request, crypto: WeChatCrypto | WeChatWorkCrypto, body: bytes) -> bytes:
    try:
        # wechatpy parses the envelope with xmltodict, which refuses entities (ValueError)
        plain = crypto.decrypt_message(
            body,
            request.args.get("msg_signature", ""),
            request.args.get("timestamp", ""),
            request.args.get("nonce", ""),
        )
    except (InvalidSignatureException, InvalidAppIdException):
        log.warning(
            "encrypted callback with a bad signature or app id from %s", request.remote_addr
        )
        abort(403)
    except Exception as exc:  # noqa: BLE001 - broken ciphertext raises many kinds of errors
        log.warning("undecryptable callback from %s: %s", request.remote_addr, exc)
        abort(400)
    return plain.encode() if isinstance(plain, str) else plain


def _accept(c: Container, request: Request, channel: Channel, body: bytes) -> Response:
    try:
        data = messages.parse_xml(body)
        msg = messages.load(channel, data)
    except messages.MalformedMessage as exc:
        log.warning("malformed %s callback from %s: %s", channel.value, request.remote_addr, exc)
        abort(400)
    # One INSERT … ON CONFLICT DO NOTHING in a transaction of its own, not a unit of work:
    # no ORM objects, no service, and it must be committed before WeChat hears "success".
    with c.engine.begin() as conn:
        inbox_id = inbox.record(conn, channel, msg._data, msg.type)
    if inbox_id is None:
        log.info("duplicate %s callback from %s acknowledged", channel.value, data["FromUserName"])
        return _plain("success")
    try:
        enqueue_turn(c.redis, inbox_id)
    except redis.RedisError:
        # kept in the inbox; the scheduler's sweeper enqueues it when Redis is back
        log.exception("could not enqueue inbox %s", inbox_id)
    return _plain("success")


ROUTES = Map(
    [
        Rule("/mp", endpoint=official_account, methods=["GET", "POST"]),
        Rule("/work", endpoint=wechat_work, methods=["GET", "POST"]),
    ]
)


class Callbacks:
    """The WSGI app of the callbacks, over the process's container."""

    def __init__(self, c: Container) -> None:
        self.container = c

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        try:
            view, _args = ROUTES.bind_to_environ(environ).match()
            response = view(self.container, request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        except Exception:  # noqa: BLE001 - as Flask would: logged, 500, WeChat retries
            log.exception("callback %s failed", request.path)
            response = _plain("error", 500)
        return response(environ, start_response)


def init_app(app: Flask, c: Container) -> None:
    """Mount the callbacks at /wechat in front of the Flask app."""
    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {PREFIX: Callbacks(c)}
    )
