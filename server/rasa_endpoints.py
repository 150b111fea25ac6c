"""``python -m server.rasa_endpoints`` prints the Rasa server's endpoints.yml for this
environment: the action server, the tracker store in the service's database (so Rasa can
restart or run as replicas without losing a conversation) and the lock store in Redis."""

from __future__ import annotations

import os
from typing import Any

import yaml
from dotenv import load_dotenv
from sqlalchemy.engine import make_url

from bot.config import Settings, load_settings


def endpoints(settings: Settings, actions_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"action_endpoint": {"url": actions_url}}
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        out["tracker_store"] = {
            "type": "SQL",
            "dialect": "postgresql",
            "url": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "username": url.username or "",
            "password": url.password or "",
            "db": url.database,
        }
    else:
        out["tracker_store"] = {
            "type": "SQL",
            "dialect": "sqlite",
            "db": str(settings.instance_path / "rasa-tracker.db"),
        }
    if settings.redis_url and settings.redis_url.startswith("redis"):
        r = make_url(settings.redis_url.replace("redis://", "redis+x://", 1))
        out["lock_store"] = {
            "type": "redis",
            "url": r.host or "127.0.0.1",
            "port": r.port or 6379,
            "db": int(r.database or 0),
            "key_prefix": "vam-rasa",
        }
        if r.password:
            out["lock_store"]["password"] = r.password
    return out


if __name__ == "__main__":
    load_dotenv()
    actions = os.environ.get(
        "ACTIONS_URL", f"http://127.0.0.1:{os.environ.get('ACTIONS_PORT', '5055')}/webhook"
    )
    print(yaml.safe_dump(endpoints(load_settings(), actions), allow_unicode=True, sort_keys=False))
