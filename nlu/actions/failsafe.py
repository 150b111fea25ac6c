"""An action that raises still answers: the action server's executor turns the exception into
an apology for the person (with the hospital's number) and a marker the worker records on the
inbox row for administrators. Form validation's rejections pass through untouched: Rasa needs
them to leave a form."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk.executor import ActionExecutor, ActionExecutorRunResult, CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from bot.channels.apologies import apology_reply
from bot.container import current as container

log = logging.getLogger(__name__)


class FailSafeExecutor(ActionExecutor):
    async def run(self, action_call: dict[str, Any]) -> ActionExecutorRunResult | None:
        try:
            return await super().run(action_call)
        except (ActionExecutionRejection, ActionNotFoundException):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure must still answer the person
            name = str(action_call.get("next_action") or "?")
            latest = (action_call.get("tracker") or {}).get("latest_message") or {}
            inbox_id = (latest.get("metadata") or {}).get("inbox_id")
            log.exception("action %s failed on inbox %s", name, inbox_id)
            reply = apology_reply(
                container().settings.hospital_phone,
                action=name,
                error=f"{type(exc).__name__}: {exc}",
            )
            dispatcher = CollectingDispatcher()  # the message shape Rasa expects
            dispatcher.utter_message(custom=reply["custom"])
            return self._create_api_response([], dispatcher.messages)
