"""The Flask app: one factory, health check against the real database and Redis."""

from __future__ import annotations

import pytest

from bot import container
from bot.jobs import housekeeping
from server import bootstrap, create_app, health

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def app(settings, engine):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def test_health_check_reports_database_and_redis(app):
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    # the test settings point RASA_URL at nothing: reported, not a failure of the web
    assert resp.get_json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "dialogue": "unreachable",
    }


def test_health_check_says_when_the_dialogue_engine_answers(settings, engine):
    from dataclasses import replace

    from tests.support.fake_rasa import FakeRasa
    from tests.support.servers import serve

    rasa = FakeRasa()
    rasa.app.add_url_rule("/", view_func=lambda: "Hello from Rasa: 3.6.21")
    with serve(rasa.app) as url:
        app = create_app(replace(settings, rasa_url=url))
        assert app.test_client().get("/healthz").get_json()["dialogue"] == "ok"


def test_health_check_fails_loudly_when_the_database_is_unreachable(settings):
    from dataclasses import replace

    broken = bootstrap(
        replace(settings, database_url="postgresql+psycopg2://nobody@127.0.0.1:1/none")
    )
    assert health(broken)["database"].startswith("error")


def test_landing_page_is_in_chinese(app):
    resp = app.test_client().get("/")
    assert "静脉通路全程管理系统" in resp.get_data(as_text=True)


def test_a_worker_job_runs_with_the_installed_container(settings, engine):
    c = bootstrap(settings)
    container.install(c)
    stamp = housekeeping.heartbeat()
    assert c.redis.get(housekeeping.HEARTBEAT_KEY).decode() == stamp
