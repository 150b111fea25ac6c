"""The physical floor of the callback guarantee (issue 12 §4), for the callback benchmark:
verify, decrypt, parse, one ``INSERT … ON CONFLICT DO NOTHING`` into the inbox, one RQ
enqueue, answer — written by hand with nothing else: one prepared SQL statement, no timestamp
window, no size or entity guards, no message registry, no Flask app of the product around it.
The product should be about as fast as this."""

from __future__ import annotations

import json
import os

import xmltodict
from flask import Flask, Response, request
from rq import Queue
from sqlalchemy import text
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from bot.config import load_settings
from bot.db import make_engine
from bot.infra import redis as redis_infra

app = Flask(__name__)
TOKEN = os.environ["WECHAT_MP_TOKEN"]
CRYPTO = WeChatCrypto(TOKEN, os.environ["WECHAT_MP_AES_KEY"], os.environ["WECHAT_MP_APPID"])
SETTINGS = load_settings()
ENGINE = make_engine(SETTINGS.database_url)  # a benchmark app: built at import on purpose
QUEUE = Queue("bench-floor", connection=redis_infra.connect(SETTINGS))
INSERT = text(
    "INSERT INTO inbox_messages (channel, sender, dedupe_key, msg_type, payload, received_at,"
    " status, attempts) VALUES ('mp', :sender, :key, :type, CAST(:payload AS JSON),"
    " CURRENT_TIMESTAMP, 'pending', 0)"
    " ON CONFLICT (channel, sender, dedupe_key) DO NOTHING RETURNING id"
)


@app.post("/wechat/mp")
def floor() -> Response:
    args = request.args
    check_signature(TOKEN, args["signature"], args["timestamp"], args["nonce"])
    xml = CRYPTO.decrypt_message(
        request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"]
    )
    data = xmltodict.parse(xml)["xml"]  # what wechatpy parses with, without its objects
    params = {
        "sender": data["FromUserName"],
        "key": f"msg:{data.get('MsgId')}",
        "type": data.get("MsgType", "text"),
        "payload": json.dumps(data, ensure_ascii=False),
    }
    with ENGINE.begin() as conn:
        inbox_id = conn.execute(INSERT, params).scalar()
    if inbox_id is not None:
        QUEUE.enqueue("bot.channels.turn.process_inbound", inbox_id, job_id=f"floor-{inbox_id}")
    return Response("success", mimetype="text/plain")
