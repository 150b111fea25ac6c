"""Operator commands: ``flask init-db``, ``flask seed-demo``, ``flask dictionary ...``,
``flask wechat ...``, ``flask staff ...``, ``flask backup ...``, ``flask reports ...``,
``flask fhir ...``; one module
per command group."""

from __future__ import annotations

from flask import Flask

from bot.container import Container

from . import backup, db, dictionary, fhir, reports, staff, wechat


def register(app: Flask) -> None:
    c: Container = app.extensions["vam"]
    db.register(app, c)
    dictionary.register(app, c)
    wechat.register(app, c)
    staff.register(app, c)
    backup.register(app, c)
    reports.register(app, c)
    fhir.register(app, c)
