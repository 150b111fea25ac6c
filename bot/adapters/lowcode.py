"""The hospital's low-code platform (A7.6): a generic REST contract for keeping records in its
forms (docs/low-code.md, where it is mapped onto 简道云 and 明道云).

``POST {base}/api/v1/forms/{form}/records:batch`` with ``Authorization: Bearer {api key}`` and
``{"transaction_id": "…", "rows": [{…}, … ≤ 100]}`` answers ``{"transaction_id": "…",
"record_ids": ["…", …]}``, one id per row in order. The same transaction id sent again answers
the same ids and keeps nothing twice. Errors are ``{"code": …, "message": "…"}``: a 4xx is a
rejection (the same request would fail again), a 5xx, 408, 429 or no answer at all is the
platform being unavailable (worth trying again later).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

MAX_ROWS = 100
TIMEOUT = 15.0  # seconds, connecting and reading
RECORDS_PATH = "/api/v1/forms/{form}/records:batch"
# HTTP statuses below 500 that still mean "try again later"
TRANSIENT = {408, 425, 429}


class LowcodeError(Exception):
    """A batch the platform did not keep: ``message`` is for an administrator (the platform's
    own words when it gave any), ``status`` the HTTP status (None: no answer), ``code`` the
    platform's error code."""

    def __init__(self, message: str, *, status: int | None = None, code: Any = None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


class LowcodeRejected(LowcodeError):
    """The platform refused the batch (bad key, bad form, invalid rows): sending it again
    unchanged fails again, so it waits for a person."""


class LowcodeUnavailable(LowcodeError):
    """The platform did not answer, or answered that it cannot now: try again later."""


class LowcodeClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: requests.Session | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.api_key = api_key
        self.http = session or requests.Session()
        self.timeout = timeout

    def create_records(
        self, form: str, rows: list[dict[str, Any]], transaction_id: str
    ) -> list[str]:
        """Keep ``rows`` (1–100 objects) in ``form`` as one transaction; returns the platform's
        record id of each row, in order. Raises LowcodeRejected / LowcodeUnavailable."""
        if not 0 < len(rows) <= MAX_ROWS:
            raise ValueError(f"a batch holds 1 to {MAX_ROWS} rows, not {len(rows)}")
        url = self.base + RECORDS_PATH.format(form=quote(form, safe=""))
        try:
            res = self.http.post(
                url,
                json={"transaction_id": transaction_id, "rows": rows},
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise LowcodeUnavailable(f"低代码平台在 {self.timeout:g} 秒内没有应答") from exc
        except requests.RequestException as exc:
            raise LowcodeUnavailable(f"无法连接低代码平台（{type(exc).__name__}）") from exc
        if res.status_code >= 400:
            raise _error(res)
        try:
            answer = res.json()
            ids = [str(i) for i in answer["record_ids"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise LowcodeRejected(
                f"低代码平台的应答无法识别（HTTP {res.status_code}）", status=res.status_code
            ) from exc
        if len(ids) != len(rows):
            raise LowcodeRejected(
                f"低代码平台返回 {len(ids)} 个记录编号，提交的是 {len(rows)} 行",
                status=res.status_code,
            )
        return ids


def _error(res: requests.Response) -> LowcodeError:
    """The platform's error as an exception of the right kind, its message kept."""
    code: Any = None
    message = ""
    try:
        body = res.json()
        if isinstance(body, dict):
            code, message = body.get("code"), str(body.get("message") or "")
    except ValueError:
        message = res.text.strip()[:200]
    text = f"{message or res.reason or '未知错误'}（HTTP {res.status_code}"
    text += f"，错误码 {code}）" if code not in (None, "") else "）"
    kind = LowcodeUnavailable if res.status_code >= 500 or res.status_code in TRANSIENT else None
    return (kind or LowcodeRejected)(text, status=res.status_code, code=code)
