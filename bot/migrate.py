"""Run Alembic migrations from code (used by ``flask init-db`` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from bot.config import ROOT


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate looks only at this service's tables: others share the database (the
    Rasa tracker store's ``events``) and must never be proposed for removal."""
    if type_ == "table":
        from bot.models import Base

        return name in Base.metadata.tables
    return True


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["skip_logging"] = True
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
