"""``flask staff import|sync-wecom|reset-password``: the staff directory from the HR export
and the WeChat Work address book, and an operator's way in for the first administrator."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from bot.container import Container
from bot.services import audit


def register(app: Flask, c: Container) -> None:
    # a group per app, so that commands close over this app's container
    group = AppGroup("staff", help="医护人员：人事系统导入、企业微信通讯录同步")
    _import(group, c)
    _reset_password(group, c)
    _sync_wecom(group, c)
    app.cli.add_command(group)


def _import(group: AppGroup, c: Container) -> None:
    @group.command("import")
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
                # a partial file must not deactivate everyone it leaves out
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


def _reset_password(group: AppGroup, c: Container) -> None:
    @group.command("reset-password")
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


def _sync_wecom(group: AppGroup, c: Container) -> None:
    @group.command("sync-wecom")
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
