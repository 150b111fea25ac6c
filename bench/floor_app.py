"""The physical floor of the callback guarantee (issue 12 §4), for the callback benchmark:
verify, decrypt, parse, one ``INSERT … ON CONFLICT DO NOTHING`` into the inbox, one RQ
enqueue (the product's own insert and job), answer — and nothing else: no timestamp window, no
replay check, no size or entity guards, no Flask app of the product around it. The product
should be at least as fast as this."""

from __future__ import annotations

import os

import xmltodict
from flask import Flask, Response, request
from rq import Queue
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from bot.channels import inbox
from bot.config import load_settings
from bot.db import make_engine
from bot.infra import redis as redis_infra
from bot.models.enums import Channel

app = Flask(__name__)
TOKEN = os.environ["WECHAT_MP_TOKEN"]
CRYPTO = WeChatCrypto(TOKEN, os.environ["WECHAT_MP_AES_KEY"], os.environ["WECHAT_MP_APPID"])
SETTINGS = load_settings()
ENGINE = make_engine(SETTINGS.database_url)  # a benchmark app: built at import on purpose
QUEUE = Queue("bench-floor", connection=redis_infra.connect(SETTINGS))


@app.post("/wechat/mp")
def floor() -> Response:
    args = request.args
    check_signature(TOKEN, args["signature"], args["timestamp"], args["nonce"])
    xml = CRYPTO.decrypt_message(
        request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"]
    )
    data = xmltodict.parse(xml)["xml"]  # what wechatpy parses with, without its objects
    with ENGINE.begin() as conn:  # the same single insert the product makes
        inbox_id = inbox.record(conn, Channel.MP, data, str(data.get("MsgType", "text")))
    if inbox_id is not None:
        QUEUE.enqueue("bot.channels.turn.process_inbound", inbox_id, job_id=f"floor-{inbox_id}")
    return Response("success", mimetype="text/plain")
