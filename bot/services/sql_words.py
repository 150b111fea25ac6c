"""Chinese sentences written by the database: a ``str.format`` template becomes a SQL string
concatenation, so a bulk ``INSERT … SELECT`` can word thousands of messages with the same
template Python uses for one. Dates, day counts and JSON for PostgreSQL and SQLite."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, String, cast, func, literal


def render(template: str, values: Mapping[str, Any]) -> Any:
    """``template`` ("{name}的{device}…") with each field replaced by its SQL expression."""
    parts: list[Any] = []
    for text, field, _, _ in string.Formatter().parse(template):
        if text:
            parts.append(literal(text, String))
        if field is not None:
            parts.append(cast(values[field], String))
    expr = parts[0]
    for part in parts[1:]:
        expr = expr + part  # || on both databases
    return expr


def json_object(dialect: str, *pairs: Any) -> Any:
    """A JSON object built by the database from key, value, key, value …"""
    args = [literal(p, String) if isinstance(p, str) else p for p in pairs]
    return (func.jsonb_build_object if dialect == "postgresql" else func.json_object)(*args)


def json_array(dialect: str, *items: Any) -> Any:
    """A JSON array built by the database."""
    return (func.jsonb_build_array if dialect == "postgresql" else func.json_array)(*items)


def month_day(dialect: str, day: Any) -> Any:
    """A date as ``f"{day:%m月%d日}"`` does it ("12月03日")."""
    if dialect == "postgresql":
        return func.to_char(day, 'MM"月"DD"日"')
    return func.strftime("%m月%d日", day)


def days_after(dialect: str, day: Any, today: date) -> Any:
    """Whole days from ``day`` to ``today``."""
    if dialect == "postgresql":
        return cast(literal(today, Date) - day, Integer)
    return cast(func.julianday(today.isoformat()) - func.julianday(day), Integer)
