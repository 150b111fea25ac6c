"""Service pages: the landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template_string

from web import container

from .health import dialogue, health

bp = Blueprint("pages", __name__)

LANDING = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>静脉通路全程管理系统</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.6">
<h1>静脉通路全程管理系统</h1>
<p>本服务通过微信公众号（患者）与企业微信（医护）提供导管全程管理。</p>
<ul>
<li>公众号回调：<code>/wechat/mp</code></li>
<li>企业微信回调：<code>/wechat/work</code></li>
<li>健康检查：<a href="/healthz">/healthz</a></li>
</ul>
</body></html>"""


@bp.get("/")
def landing() -> str:
    return render_template_string(LANDING)


@bp.get("/healthz")
def healthz():
    status = health(container())
    ok = all(v == "ok" for v in status.values())
    body = {"status": "ok" if ok else "degraded", **status, "dialogue": dialogue(container())}
    return jsonify(body), (200 if ok else 503)
