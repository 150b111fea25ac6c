"""``flask reports read FILE... [--json]``: read report photos with the worker's code path (P4.3);
``flask reports import FILE``: this hospital's LIS/PACS reports (C4.2, docs/lis-import.md).

Each photo is read by ``bot.ocr.read_image`` with the clinical dictionary in force (the shipped
defaults when the database has none yet). With ``--json`` every file gives one JSON object on
one line; a file that cannot be read gives ``{"file": …, "error": reason}`` and the command
exits with status 1 after the others.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from bot.care.defaults import DEFAULT_DICTIONARY
from bot.care.dictionary import Dictionary, build_dictionary
from bot.care.rules import local_date
from bot.container import Container
from bot.jobs.queues import enqueue_send
from bot.models import Report, utcnow
from bot.services import dictionary as dictionary_service
from bot.services import lis_import, report_reading

if TYPE_CHECKING:
    from bot.ocr import Reading


def register(app: Flask, c: Container) -> AppGroup:
    """The ``reports`` group with its ``read`` command; returned so that other report
    commands can be added to the same group."""
    group = AppGroup("reports", help="检验检查报告：照片识别")

    @group.command("read")
    @click.argument("files", nargs=-1, required=True)
    @click.option("--json", "as_json", is_flag=True, help="每个文件输出一行JSON")
    def read(files: tuple[str, ...], as_json: bool) -> None:
        """Read report photos and print what was found in them."""
        from bot.ocr import BadImage, engine, read_image  # loads onnxruntime: only here

        dictionary = _dictionary(c)
        ocr = engine(c.settings)
        failed = False
        for name in files:
            try:
                reading = read_image(Path(name).read_bytes(), dictionary, ocr=ocr)
            except (BadImage, OSError) as exc:
                failed = True
                reason = (
                    exc.reason if isinstance(exc, BadImage) else f"无法读取文件：{exc.strerror}"
                )
                _echo(as_json, {"file": name, "error": reason}, f"{name}: ✗ {reason}")
                continue
            _echo(as_json, reading.to_json(name), _summary(name, reading))
        if failed:
            sys.exit(1)

    @group.command("import")
    @click.argument("path", type=click.File("r", encoding="utf-8"))
    def import_(path: Any) -> None:
        """Import this hospital's LIS/PACS reports (JSON lines, docs/lis-import.md)."""
        with c.uow() as uow:
            d = dictionary_service.current(uow.session)
            today = local_date(utcnow(), c.settings.timezone)
            outcome = lis_import.import_lines(uow.session, path, d, today)
            ids: list[int] = []
            for report_id in outcome.created:  # what matters for the line, to the nurse
                report = uow.session.get(Report, report_id)
                assert report is not None
                ids += report_reading.notify_clinicians(
                    uow.session, report, c.settings.public_base_url
                )
            uow.commit()
        for outbox_id in ids:
            enqueue_send(c.redis, outbox_id)
        for error in outcome.errors:
            click.echo(error, err=True)
        click.echo(
            f"导入完成：新增{len(outcome.created)}份，更新{len(outcome.updated)}份，"
            f"跳过{len(outcome.errors)}行"
        )
        if outcome.errors:
            sys.exit(1)

    app.cli.add_command(group)
    return group


def _dictionary(c: Container) -> Dictionary:
    """The dictionary in force; the shipped defaults when the database has none (or no schema
    yet: reading a photo needs no database)."""
    try:
        with c.uow() as uow:
            return dictionary_service.current(uow.session)
    except (dictionary_service.NoDictionary, SQLAlchemyError):
        click.echo("（数据库中没有临床字典，使用出厂默认字典）", err=True)
        return build_dictionary(DEFAULT_DICTIONARY, 0)


def _echo(as_json: bool, result: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else text)


def _summary(name: str, reading: Reading) -> str:
    found = reading.report_date.isoformat() if reading.report_date else "日期未识别"
    lines = [
        f"{name}: {reading.kind} · {reading.institution or '机构未识别'} · {found} · "
        f"{reading.seconds:.1f} s" + ("" if reading.is_report else " · 不像是检验检查报告")
    ]
    for item in reading.items:
        flag = {"H": " ↑", "L": " ↓"}.get(item.flag or "", "")
        lines.append(f"  {item.name} ({item.code or '-'}): {item.value} {item.unit or ''}{flag}")
    if reading.conclusion:
        lines.append(f"  结论：{reading.conclusion}")
    if reading.problem:
        lines.append(f"  ! {reading.problem}")
    return "\n".join(lines)
