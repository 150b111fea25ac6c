"""What every fake API endpoint does around its own logic.

``@api_view("mp")`` wraps a view: injected faults first, then the ``access_token`` check,
then the view; the answer is WeChat-style JSON (HTTP 200 with ``errcode``), and the call —
method, path, query, body, response — is recorded in :class:`~.state.SimState`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request

from .config import SimConfig
from .errors import ApiError, error_body
from .state import SimState

MOUNTS = {"mp": "/mp", "work": "/work"}


def get_state() -> SimState:
    return current_app.extensions["wechat_sim"]


def get_config() -> SimConfig:
    return get_state().config


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(obj, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def read_json() -> dict[str, Any]:
    """The request body as a JSON object, as WeChat reads it (whatever the Content-Type).

    Empty body → 44002; not JSON / not an object → 47001.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(44002)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(47001, f"data format error hint: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(47001)
    return data


def _summarize_request() -> Any:
    if request.files:
        return {
            "files": {
                name: {
                    "filename": f.filename,
                    "content_type": f.mimetype,
                    "size": len(f.read()),
                }
                for name, f in request.files.items()
            },
            "form": request.form.to_dict(),
        }
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {"raw": raw[:2000].decode("utf-8", "replace")}


def _rewind_files() -> None:
    for f in request.files.values():
        f.stream.seek(0)


def _fault_response(fault: dict[str, Any], channel: str) -> tuple[Response, Any]:
    if fault.get("delay"):
        time.sleep(float(fault["delay"]))
    status = fault.get("http_status") or 200
    if fault.get("errcode") is None:
        text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        body = text.get(status, "error")
        return Response(body, status=status, content_type="text/html"), {"raw": body}
    payload = error_body(int(fault["errcode"]), fault.get("errmsg"), channel=channel)
    return json_response(payload, status), payload


def api_view(channel: str, *, auth: bool = True) -> Callable:
    """Decorate a view of the ``channel`` ("mp" / "work") fake API."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            state = get_state()
            body = _summarize_request()
            _rewind_files()
            fault = state.faults.take(request.path)
            if fault is not None:
                resp, payload = _fault_response(fault, channel)
            else:
                try:
                    if auth:
                        code = state.tokens.check(channel, request.args.get("access_token"))
                        if code:
                            raise ApiError(code)
                    result = view(*args, **kwargs)
                except ApiError as exc:
                    result = error_body(exc.code, exc.detail, channel=channel)
                if isinstance(result, Response):
                    resp = result
                    payload = (
                        resp.get_json(silent=True)
                        if resp.is_json
                        else {"_binary": resp.content_type, "size": resp.content_length}
                    )
                else:
                    resp, payload = json_response(result), result
            state.api_calls.record(
                channel,
                {
                    "method": request.method,
                    "path": request.path,
                    "api_path": request.path[len(MOUNTS[channel]) :],
                    "params": request.args.to_dict(),
                    "body": body,
                    "response": payload,
                    "status": resp.status_code,
                    "fault": fault is not None,
                },
            )
            return resp

        return wrapper

    return decorate


def require(data: dict[str, Any], name: str, code: int, detail: str | None = None) -> Any:
    value = data.get(name)
    if value in (None, "", [], {}):
        raise ApiError(code, detail or f"{name} missing")
    return value
