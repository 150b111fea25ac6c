"""``flask init-db`` and ``flask seed-demo``: the schema, the default dictionary and the
demo data set."""

from __future__ import annotations

import time
from datetime import datetime

import click
from flask import Flask

from bot import migrate
from bot.care.rules import local_date
from bot.container import Container
from bot.models import utcnow
from bot.services import dictionary as dictionary_service


def register(app: Flask, c: Container) -> None:
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
        # imported here: the seeder and its data files are only needed by this command
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
