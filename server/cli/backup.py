"""``flask backup manifest`` (beside every dump) and ``flask backup check`` (after a restore):
docs/operations.md says when to run them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask

from bot.container import Container
from bot.services import backup


def register(app: Flask, c: Container) -> None:
    @app.cli.group("backup", help="备份清单与恢复检查")
    def group() -> None:
        pass

    @group.command("manifest")
    @click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
    def manifest(out: Path) -> None:
        """Write the row counts and schema revision of this database to OUT (JSON)."""
        with c.uow() as uow:
            data = backup.manifest(uow.session)
        out.write_text(json.dumps(data, ensure_ascii=False, indent=2))
        click.echo(f"备份清单已写入 {out}：{len(data['tables'])} 张表")

    @group.command("check")
    @click.option(
        "--manifest",
        "manifest_path",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="备份时写下的清单",
    )
    def check(manifest_path: Path) -> None:
        """Check a restored database against its manifest and that DATA_KEY opens its PII."""
        expected = json.loads(manifest_path.read_text())
        with c.uow() as uow:
            problems = backup.check(uow.session, c.cipher, expected)
        if problems:
            for problem in problems:
                click.echo(f"✗ {problem}", err=True)
            sys.exit(1)
        click.echo(
            f"✓ 恢复的数据库与备份清单一致（{len(expected['tables'])} 张表），DATA_KEY 可解密"
        )
