"""Fixtures for running the custom actions against the test database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import container
from server import bootstrap
from tests.support.forms import load_domain


@pytest.fixture(scope="session")
def domain():
    return load_domain()


@pytest.fixture
def action_runtime(settings, session_factory):
    """The action server's collaborators, pointed at the test database."""
    container.install(bootstrap(settings, session_factory=session_factory))
    yield
    container.install(None)


@pytest.fixture
def rasa():
    """A Rasa-protocol test double over real HTTP (tests/support/fake_rasa.py)."""
    from tests.support.fake_rasa import FakeRasa
    from tests.support.servers import serve

    fake = FakeRasa()
    with serve(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
def live_settings(settings, rasa):
    """The test settings pointed at the Rasa double."""
    return replace(settings, rasa_url=rasa.url)
