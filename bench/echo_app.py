"""The baseline of the callback benchmark: a bare wechatpy handler that verifies, decrypts,
parses and answers "success" — no database, no queue."""

from __future__ import annotations

import os

from flask import Flask, Response, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

app = Flask(__name__)
TOKEN = os.environ["WECHAT_MP_TOKEN"]
CRYPTO = WeChatCrypto(TOKEN, os.environ["WECHAT_MP_AES_KEY"], os.environ["WECHAT_MP_APPID"])


@app.post("/wechat/mp")
def echo() -> Response:
    args = request.args
    check_signature(TOKEN, args["signature"], args["timestamp"], args["nonce"])
    xml = CRYPTO.decrypt_message(
        request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"]
    )
    parse_message(xml)
    return Response("success", mimetype="text/plain")
