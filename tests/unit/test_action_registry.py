"""What the action server registers: every concrete action of nlu.actions, by the name the
domain uses; base classes (gated actions, the submit action) are not registered."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.support.forms import load_domain


def test_the_action_server_registers_exactly_the_domains_custom_actions():
    executor = ActionExecutor()
    executor.register_package("nlu.actions")
    registered = set(executor.actions)
    custom = {a for a in load_domain()["actions"] if a.startswith(("action_", "validate_"))}
    assert registered == custom
