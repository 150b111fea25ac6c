"""统计看板 (A6.1): the quality indicators of a period with their definitions, charts drawn by
matplotlib (PNG and SVG, cached in Redis by their query) and a table of numbers beside every
chart, each table exportable as XLSX or CSV on the export page (A6.2). Administrators only;
every page view is audited with its filters."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any
from urllib.parse import urlencode

from flask import abort, request
from flask_admin import BaseView, expose
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.care.dictionary import Dictionary
from bot.care.rules import local_date
from bot.models import Catheter, Department, Institution, Staff, utcnow
from bot.services import audit, stats
from bot.services import dictionary as dictionary_service
from bot.services.stats import Table
from bot.services.stats.dashboard import GROUP_TITLES
from cards import charts
from web import container, db, uow

from . import dashboard_cache, dashboard_query
from .base import AdminOnly, admin_actor

log = logging.getLogger(__name__)
CONTEXT = "dashboard"
EXPORT_PAGE = "/admin/exports/new"


@dataclass(frozen=True)
class Chart:
    table: str  # the Table.code drawn
    draw: Callable[[Table, charts.Format], bytes]


# counts only: catheter-days and rates are on other scales (they are in the tables)
MONTHLY_SERIES = ("置管例数", "维护例次", "拔管例数", "并发症例数")
CHARTS = {
    "monthly": Chart("monthly", partial(charts.line_chart, series=MONTHLY_SERIES)),
    "complications_by_type": Chart(
        "complications_by_type", partial(charts.bar_chart, value_columns=["例数"])
    ),
    "device_mix": Chart(
        "device_mix", partial(charts.bar_chart, value_columns=["置管例数", "期末在位"])
    ),
}
GROUP_BYS = {code: label for code, label in GROUP_TITLES.items() if code is not None}


@dataclass(frozen=True)
class Choices:
    """What the filter inputs offer."""

    device_types: list[tuple[str, str]]
    departments: list[tuple[int, str]]
    institutions: list[tuple[int, str]]
    inserters: list[tuple[int, str]]

    def known_ids(self) -> dict[str, set[int]]:
        return {
            "department_id": {i for i, _ in self.departments},
            "institution_id": {i for i, _ in self.institutions},
            "inserter_id": {i for i, _ in self.inserters},
        }


def filter_choices(s: Session, d: Dictionary) -> Choices:
    departments = s.execute(
        select(Department.id, Department.name, Institution.name)
        .join(Institution, Department.institution_id == Institution.id)
        .order_by(Institution.name, Department.name)
    ).all()
    institutions = s.execute(
        select(Institution.id, Institution.name).order_by(
            Institution.is_home.desc(), Institution.name
        )
    ).all()
    inserters = s.execute(
        select(Staff.id, Staff.name)
        .where(Staff.id.in_(select(Catheter.inserter_id).distinct()))
        .order_by(Staff.name)
    ).all()
    return Choices(
        device_types=[(code, t.short) for code, t in d.device_types.items()],
        departments=[(i, f"{inst} · {name}") for i, name, inst in departments],
        institutions=[(i, name) for i, name in institutions],
        inserters=[(i, name) for i, name in inserters],
    )


class DashboardView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        s = db()
        today, d = _today(), dictionary_service.current(s)
        choices = filter_choices(s, d)
        q = _query(today, d, choices)
        stamp = dashboard_cache.data_stamp(s, d.version)  # before counting: never newer
        board = _compute(s, q, today, d)
        audit.record(
            s,
            admin_actor(),
            "read",
            "dashboard",
            None,
            context=CONTEXT,
            detail={"filters": q.params(), "refused": list(q.errors)},
        )
        uow().commit()
        _keep_tables(q, today, stamp, board.tables)
        return self.render(
            "admin/dashboard.html",
            q=q,
            board=board,
            choices=choices,
            today=today,
            presets=dashboard_query.PRESETS,
            preset=q.preset(today),
            group_bys=GROUP_BYS,
            charts=CHARTS,
            export_url=_export_url,
            filters_only=urlencode(
                {k: v for k, v in q.params().items() if k not in ("start", "end")}
            ),
            ordered=_ordered(board.tables),
            no_data=stats.NO_DATA,
        )

    @expose("/chart/<chart>.png")
    def chart_png(self, chart: str) -> Response:
        return self._chart(chart, "png")

    @expose("/chart/<chart>.svg")
    def chart_svg(self, chart: str) -> Response:
        return self._chart(chart, "svg")

    def _chart(self, name: str, fmt: charts.Format) -> Response:
        spec = CHARTS.get(name)
        if spec is None:
            abort(404)
        s = db()
        today, d = _today(), dictionary_service.current(s)
        q = _query(today, d, filter_choices(s, d))
        stamp = dashboard_cache.data_stamp(s, d.version)
        cache = dashboard_cache.Cache(container().redis)
        chart_key = dashboard_cache.key(
            "chart", name, fmt, q.query_string(group_by=False), today.isoformat(), stamp
        )

        def draw() -> bytes:
            table = _tables(s, q, today, d, stamp, cache)[spec.table]
            return spec.draw(table, fmt)

        body = cache.get_or_make(chart_key, draw)
        response = Response(body, mimetype=charts.MIME[fmt])
        response.set_etag(hashlib.sha256(body).hexdigest()[:32])
        response.cache_control.private = True
        response.cache_control.max_age = dashboard_cache.TTL_SECONDS
        return response.make_conditional(request)


def _today() -> date:
    return local_date(utcnow(), container().settings.timezone)


def _query(today: date, d: Dictionary, choices: Choices) -> dashboard_query.Query:
    return dashboard_query.parse(
        request.args,
        today,
        device_types=d.device_types,
        known_ids=choices.known_ids(),
        group_bys=GROUP_BYS,
    )


def _compute(s: Session, q: dashboard_query.Query, today: date, d: Dictionary) -> stats.Dashboard:
    return stats.compute(
        s, q.filters, tz=container().settings.timezone, today=today, dictionary=d,
        group_by=q.group_by,
    )  # fmt: skip


def _tables_key(q: dashboard_query.Query, today: date, stamp: str) -> str:
    # today too: a period that reaches today is counted up to today only
    return dashboard_cache.key("tables", q.query_string(group_by=False), today.isoformat(), stamp)


def _chart_tables(tables: dict[str, Table]) -> bytes:
    """The tables the charts draw (none of them depends on group_by), as cached."""
    return dashboard_cache.tables_to_json(
        {c.table: tables[c.table] for c in CHARTS.values() if c.table in tables}
    )


def _keep_tables(
    q: dashboard_query.Query, today: date, stamp: str, tables: dict[str, Table]
) -> None:
    """The tables the page computed, for its charts (drawn in requests of their own)."""
    dashboard_cache.Cache(container().redis).set(
        _tables_key(q, today, stamp), _chart_tables(tables)
    )


def _tables(
    s: Session,
    q: dashboard_query.Query,
    today: date,
    d: Dictionary,
    stamp: str,
    cache: dashboard_cache.Cache,
) -> dict[str, Table]:
    """The chart tables of the query: kept by the page, else computed (and kept)."""
    k = _tables_key(q, today, stamp)
    kept = cache.get(k)
    if kept is not None:
        return dashboard_cache.tables_from_json(kept)
    tables = _compute(s, q, today, d).tables
    cache.set(k, _chart_tables(tables))
    return tables


def _ordered(tables: dict[str, Table]) -> list[Table]:
    """The tables with charts first, in the order of CHARTS, then the others as computed."""
    first = [tables[c.table] for c in CHARTS.values() if c.table in tables]
    return first + [t for code, t in tables.items() if t not in first]


def _export_url(table_code: str, q: dashboard_query.Query, fmt: str) -> str:
    """The export page (A6.2) for one table of the dashboard, with the page's filters."""
    return f"{EXPORT_PAGE}?kind=table:{table_code}&{q.query_string()}&format={fmt}"
