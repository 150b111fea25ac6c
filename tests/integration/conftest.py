"""Fixtures for running the custom actions against the test database."""

from __future__ import annotations

import pytest

from nlu.actions import runtime
from tests.support.forms import load_domain


@pytest.fixture(scope="session")
def domain():
    return load_domain()


@pytest.fixture
def action_runtime(settings, session_factory):
    """The action server's collaborators, pointed at the test database."""
    runtime.install(runtime.Runtime(settings, session_factory))
    yield
    runtime.install(None)
