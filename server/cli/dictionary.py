"""``flask dictionary show|publish``: the clinical dictionary in force and its new versions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from bot.care.dictionary import DictionaryError
from bot.container import Container
from bot.services import audit
from bot.services import dictionary as dictionary_service


def register(app: Flask, c: Container) -> None:
    # a group per app, so that commands close over this app's container
    group = AppGroup("dictionary", help="临床字典：查看与发布新版本")

    @group.command("show")
    def show() -> None:
        """Print the dictionary in force as JSON."""
        with c.uow() as uow:
            d = dictionary_service.current(uow.session)
        click.echo(json.dumps({"version": d.version, **d.payload}, ensure_ascii=False, indent=2))

    @group.command("publish")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--note", required=True, help="本次修改说明")
    def publish(path: Path, note: str) -> None:
        """Validate a dictionary JSON file and put it in force as a new version. The file's
        ``version`` (printed by ``show``) is the version it was edited from: if another is in
        force by now, nothing is published."""
        payload = json.loads(path.read_text(encoding="utf-8"))
        based_on = payload.pop("version", None)
        if not isinstance(based_on, int) or isinstance(based_on, bool):
            based_on = None  # a file written by hand: no version to compare
        with c.uow() as uow:
            try:
                row = dictionary_service.publish(uow.session, payload, audit.SYSTEM, note, based_on)
            except DictionaryError as exc:
                click.echo("字典未发布，原因：", err=True)
                for problem in exc.problems:
                    click.echo(f"  - {problem}", err=True)
                sys.exit(1)
            uow.commit()
        click.echo(f"临床字典第 {row.version} 版已生效")

    app.cli.add_command(group)
