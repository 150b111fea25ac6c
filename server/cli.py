"""Operator commands: ``flask init-db``, ``flask seed-demo``, ``flask dictionary ...``."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from bot import migrate
from bot.care.dictionary import DictionaryError
from bot.care.rules import local_date
from bot.channels import menus
from bot.config import ROOT
from bot.models import utcnow
from bot.services import audit
from bot.services import dictionary as dictionary_service

from . import Container

dictionary_cli = AppGroup("dictionary", help="临床字典：查看与发布新版本")
wechat_cli = AppGroup("wechat", help="微信公众号与企业微信")
MENUS = ROOT / "cards" / "menus.json"


def register(app: Flask) -> None:
    c: Container = app.extensions["vam"]

    @app.cli.command("init-db")
    def init_db() -> None:
        """Migrate the database to the newest schema and write the default dictionary."""
        migrate.upgrade(c.engine)
        with c.uow() as uow:
            written = dictionary_service.ensure_default(uow.session)
            uow.commit()
        click.echo("数据库已迁移到最新版本" + ("，已写入默认临床字典" if written else ""))

    @app.cli.command("seed-demo")
    @click.option("--today", help="演示数据的“今天”(YYYY-MM-DD)，默认为医院当地日期")
    def seed_demo(today: str | None) -> None:
        """Create the deterministic demo data set (once; later runs change nothing)."""
        from bot.seed.demo import seed_demo as run_seed

        day = (
            datetime.strptime(today, "%Y-%m-%d").date()
            if today
            else local_date(utcnow(), c.settings.timezone)
        )
        started = time.monotonic()
        with c.uow() as uow:
            counts = run_seed(
                uow.session, c.cipher, dictionary_service.current(uow.session), today=day
            )
            uow.commit()
        if not counts:
            click.echo("演示数据已存在，未做改动")
            return
        summary = "，".join(f"{k} {v}" for k, v in counts.items())
        click.echo(f"演示数据已生成（{time.monotonic() - started:.1f} 秒）：{summary}")

    @dictionary_cli.command("show")
    def show() -> None:
        """Print the dictionary in force as JSON."""
        with c.uow() as uow:
            d = dictionary_service.current(uow.session)
        click.echo(json.dumps({"version": d.version, **d.payload}, ensure_ascii=False, indent=2))

    @dictionary_cli.command("publish")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--note", required=True, help="本次修改说明")
    def publish(path: Path, note: str) -> None:
        """Validate a dictionary JSON file and put it in force as a new version."""
        payload = json.loads(path.read_text(encoding="utf-8"))
        payload.pop("version", None)
        with c.uow() as uow:
            try:
                row = dictionary_service.publish(uow.session, payload, audit.SYSTEM, note)
            except DictionaryError as exc:
                click.echo("字典未发布，原因：", err=True)
                for problem in exc.problems:
                    click.echo(f"  - {problem}", err=True)
                sys.exit(1)
            uow.commit()
        click.echo(f"临床字典第 {row.version} 版已生效")

    @wechat_cli.command("push-menus")
    @click.option(
        "--wait", default=0, help="WeChat 接口不可达时最多等待的秒数（开发时等模拟器启动）"
    )
    def push_menus(wait: int) -> None:
        """Create the official-account and WeChat Work app menus from cards/menus.json."""
        from bot.adapters.wechat import WeChatError

        from .adapters import wechat_clients

        data = menus.load(MENUS, c.settings.public_base_url)
        mp, work = wechat_clients(c.settings, c.redis)
        if mp is None and work is None:
            click.echo("未配置公众号或企业微信应用，菜单未推送", err=True)
            sys.exit(1)
        deadline = time.monotonic() + wait
        while True:
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

    app.cli.add_command(dictionary_cli)
    app.cli.add_command(wechat_cli)
