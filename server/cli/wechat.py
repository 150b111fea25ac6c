"""``flask wechat push-menus``: the official-account and WeChat Work app menus."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup

from bot.channels import menus
from bot.config import ROOT
from bot.container import Container

MENUS = ROOT / "cards" / "menus.json"


def register(app: Flask, c: Container) -> None:
    # a group per app, so that commands close over this app's container
    group = AppGroup("wechat", help="微信公众号与企业微信")

    @group.command("push-menus")
    @click.option(
        "--wait", default=0, help="WeChat 接口不可达时最多等待的秒数（开发时等模拟器启动）"
    )
    def push_menus(wait: int) -> None:
        """Create the official-account and WeChat Work app menus from cards/menus.json."""
        from bot.adapters.wechat import WeChatError

        data = menus.load(MENUS, c.settings.public_base_url)
        mp, work = c.mp, c.work
        if mp is None and work is None:
            click.echo("未配置公众号或企业微信应用，菜单未推送", err=True)
            sys.exit(1)
        deadline = time.monotonic() + wait
        while True:  # retried while the API is unreachable (a simulator still starting)
            try:
                if mp is not None:
                    mp.post("menu/create", data=data["mp"])
                    click.echo("公众号菜单已更新")
                if work is not None:
                    work.post(
                        "menu/create",
                        params={"agentid": c.settings.wecom_agent_id},
                        data=data["work"],
                    )
                    click.echo("企业微信应用菜单已更新")
                return
            except WeChatError as exc:
                if not exc.retryable or time.monotonic() > deadline:
                    click.echo(f"菜单推送失败：{exc}", err=True)
                    sys.exit(1)
                time.sleep(1)

    app.cli.add_command(group)
