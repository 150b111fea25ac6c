"""WeChat web OAuth (``snsapi_base``) for H5 pages: who is the official-account follower.

wechatpy's ``WeChatOAuth`` hard-codes open.weixin.qq.com and api.weixin.qq.com; these two
calls follow WECHAT_API_BASE so the simulator stands in for both in development and tests.
"""

from __future__ import annotations

from urllib.parse import urlencode

import requests

from bot.config import WECHAT_API_DEFAULT, Settings

from .wechat import WeChatError


def authorize_url(settings: Settings, redirect_uri: str, state: str) -> str:
    base = (
        "https://open.weixin.qq.com"
        if settings.wechat_api_base == WECHAT_API_DEFAULT
        else settings.wechat_api_base
    )
    query = {
        "appid": settings.wechat_mp_appid,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": state,
    }
    return f"{base}/connect/oauth2/authorize?{urlencode(query)}#wechat_redirect"


def openid_for(settings: Settings, code: str) -> str:
    try:
        res = requests.get(
            f"{settings.wechat_api_base}/sns/oauth2/access_token",
            params={
                "appid": settings.wechat_mp_appid,
                "secret": settings.wechat_mp_secret,
                "code": code,
                "grant_type": "authorization_code",
            },
            timeout=10,
        )
        body = res.json()
    except (requests.RequestException, ValueError) as exc:
        raise WeChatError(None, str(exc), retryable=True, reason="unreachable") from exc
    if not body.get("openid"):
        raise WeChatError(
            body.get("errcode"), str(body.get("errmsg")), retryable=False, reason="oauth_code"
        )
    return str(body["openid"])


def work_authorize_url(settings: Settings, redirect_uri: str, state: str) -> str:
    """WeChat Work web OAuth for the app's H5 pages (``snsapi_base``: the member's userid)."""
    from bot.config import WECOM_API_DEFAULT

    base = (
        "https://open.weixin.qq.com"
        if settings.wecom_api_base == WECOM_API_DEFAULT
        else settings.wecom_api_base
    )
    query = {
        "appid": settings.wecom_corp_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "snsapi_base",
        "agentid": settings.wecom_agent_id,
        "state": state,
    }
    return f"{base}/connect/oauth2/authorize?{urlencode(query)}#wechat_redirect"
