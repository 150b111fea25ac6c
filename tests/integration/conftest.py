"""Fixtures for running the custom actions against the test database."""

from __future__ import annotations

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
