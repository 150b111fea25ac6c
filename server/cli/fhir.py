"""``flask fhir export PATIENT_ID [--out FILE] [--identifiers hash|mask]``: a patient's
vascular-access record as a FHIR R4 Bundle (X.1), printed or written to a file; audited as the
system actor and kept in the export log like a download from the trace page."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from bot.container import Container
from bot.interop.fhir import IDENTIFIER_MODES
from bot.services import access, audit, fhir
from bot.services import dictionary as dictionary_service

CONTEXT = "cli-fhir"


def register(app: Flask, c: Container) -> None:
    group = AppGroup("fhir", help="互联互通：导出患者记录为 FHIR R4 Bundle")

    @group.command("export")
    @click.argument("patient_id", type=int)
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="写入该文件（默认输出到屏幕）",
    )
    @click.option(
        "--identifiers",
        type=click.Choice(IDENTIFIER_MODES),
        help="标识（身份证号、病案号）：hash 哈希 / mask 掩码（默认取 FHIR_IDENTIFIERS）",
    )
    def export(patient_id: int, out: Path | None, identifiers: str | None) -> None:
        """Export one patient's record as a FHIR R4 Bundle (JSON)."""
        opts = fhir.options(c.settings, c.cipher, identifiers)
        with c.uow() as uow:
            s = uow.session
            try:
                patient = fhir.open_patient(s, audit.SYSTEM, patient_id, context=CONTEXT)
            except access.NotVisible:
                click.echo(f"没有编号为 {patient_id} 的患者", err=True)
                sys.exit(1)
            try:
                data = fhir.document(s, dictionary_service.current(s), patient, opts)
            except fhir.FhirInvalid as exc:
                click.echo(f"FHIR 校验未通过，未导出：{exc}", err=True)
                sys.exit(1)
            fhir.record_export(s, None, patient_id, data, opts.identifiers)
            if out is not None:
                out.write_bytes(data)
            uow.commit()
        if out is None:
            click.echo(data.decode())
        else:
            click.echo(f"已写入 {out}（{len(data)} 字节，标识：{opts.identifiers}）", err=True)

    app.cli.add_command(group)
