"""A test double of the Rasa server's REST channel (real HTTP, so RasaEngine is exercised).

It echoes what it receives, remembers every request, and can be told to fail, like a Rasa
server that is down or restarting.
"""

from __future__ import annotations

import json
import threading
import time

from flask import Flask, Response, request


class FakeRasa:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.down = False
        self.delay = 0.0  # seconds to think before answering: a turn in flight
        self.answer: list[dict] | None = None  # answer every message with this instead
        self.forms: dict[str, str] = {}  # conversation id -> the form it is in
        self.lock = threading.Lock()
        self.app = Flask("fake_rasa")
        self.app.add_url_rule("/webhooks/rest/webhook", view_func=self._webhook, methods=["POST"])
        self.app.add_url_rule("/conversations/<sender>/tracker", view_func=self._tracker)

    def _tracker(self, sender: str) -> Response:
        form = self.forms.get(sender)
        body = {"sender_id": sender, "active_loop": {"name": form} if form else {}}
        return Response(json.dumps(body), mimetype="application/json")

    def _webhook(self) -> Response:
        if self.down:
            return Response("rasa is restarting", status=503)
        body = request.get_json()
        with self.lock:
            self.requests.append(body)
        time.sleep(self.delay)
        message = body["message"]
        if self.answer is not None:
            reply = self.answer
        elif message.startswith("/"):
            reply = [{"text": f"意图：{message}"}]
        else:
            reply = [{"text": f"收到：{message}"}]
        return Response(json.dumps(reply, ensure_ascii=False), mimetype="application/json")

    def messages_of(self, sender: str) -> list[str]:
        return [r["message"] for r in self.requests if r["sender"] == sender]
