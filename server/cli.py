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
staff_cli = AppGroup("staff", help="医护人员：人事系统导入、企业微信通讯录同步")
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

    @staff_cli.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--deactivate-missing", is_flag=True, help="停用文件中没有的本院人员（人事全量导出时使用）"
    )
    def staff_import(path: Path, deactivate_missing: bool) -> None:
        """Import the HR export (CSV or JSON; columns in docs/staff-import.md)."""
        from bot.services import staff_directory

        rows = staff_directory.parse(path.read_bytes(), path.name)
        with c.uow() as uow:
            report = staff_directory.import_rows(
                uow.session, c.cipher, rows, audit.SYSTEM, deactivate_missing=deactivate_missing
            )
            if report.errors and deactivate_missing:
                click.echo("文件有错误，未停用任何人员，也未保存：", err=True)
                for e in report.errors:
                    click.echo(f"  - {e}", err=True)
                sys.exit(1)
            uow.commit()
        click.echo(
            f"新增 {report.created} 人，更新 {report.updated} 人，停用 {report.deactivated} 人"
        )
        for e in report.errors:
            click.echo(f"  跳过 {e}", err=True)

    @staff_cli.command("reset-password")
    @click.argument("staff_no")
    def reset_password(staff_no: str) -> None:
        """Give a home-hospital staff member a temporary password (e.g. the first administrator)."""
        from bot.services import auth

        with c.uow() as uow:
            staff = auth.find(uow.session, c.cipher, staff_no)
            if staff is None:
                click.echo(f"本院没有工号为 {staff_no} 的人员", err=True)
                sys.exit(1)
            password = auth.reset_password(uow.session, staff, audit.SYSTEM)
            uow.commit()
            click.echo(f"{staff.name}（{staff_no}）的临时密码：{password}（登录后须修改）")

    @staff_cli.command("sync-wecom")
    def sync_wecom() -> None:
        """Departments and members from the WeChat Work directory; members linked by mobile."""
        from bot.adapters.wechat import WeChatError
        from bot.services import staff_directory

        work = c.senders.work
        if work is None:
            click.echo("未配置企业微信", err=True)
            sys.exit(1)
        try:
            departments = work.get("department/list")["department"]
            root = min(d["id"] for d in departments)
            members = work.get("user/list", params={"department_id": root, "fetch_child": 1})[
                "userlist"
            ]
        except WeChatError as exc:
            click.echo(f"企业微信通讯录读取失败：{exc}", err=True)
            sys.exit(1)
        with c.uow() as uow:
            report = staff_directory.sync_wecom(
                uow.session, c.cipher, departments, members, audit.SYSTEM
            )
            uow.commit()
        click.echo(f"同步部门 {report.departments} 个，关联成员 {report.linked} 人")
        if report.unmatched:
            click.echo(
                "以下成员没有对应的医护账号（请先通过人事导入）：" + "、".join(report.unmatched)
            )

    app.cli.add_command(dictionary_cli)
    app.cli.add_command(wechat_cli)
    app.cli.add_command(staff_cli)
