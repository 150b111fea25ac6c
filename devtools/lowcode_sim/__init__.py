"""A simulator of the hospital's low-code platform, speaking the generic REST contract of
docs/low-code.md: ``POST /api/v1/forms/<form>/records:batch`` with ``Authorization: Bearer
<key>`` and ``{"transaction_id": …, "rows": [≤ 100 objects]}`` keeps the rows and answers one
record id per row; the same transaction id again answers the same ids and keeps nothing twice.
Errors are ``{"code": …, "message": …}`` with a 4xx or 5xx status, as the platform answers.

    python -m devtools.lowcode_sim      # serves on LOWCODE_SIM_PORT (default 5085), keeps
                                        # what it receives in LOWCODE_SIM_DB (default
                                        # instance/lowcode_sim.db), so it survives a restart

``GET /`` shows the forms and their records (Chinese page); ``GET /_sim/records?form=…`` the
same as JSON; ``GET /_sim/requests`` every request with its answer; ``POST /_sim/fail
{"status": 503, "message": "…", "code": …, "times": n, "after": k, "keep": false}`` makes n
requests fail after the next k (``keep``: keep the rows first, as a platform whose answer is
lost on its way back);
``POST /_sim/reset`` forgets everything.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request

DEV_API_KEY = "vam-lowcode-dev-key"
MAX_ROWS = 100
FORM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    transaction_id TEXT PRIMARY KEY,
    form TEXT NOT NULL,
    rows_hash TEXT NOT NULL,
    record_ids TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT UNIQUE NOT NULL,
    form TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_form ON records (form, n);
"""


@dataclass
class Failure:
    status: int
    message: str
    code: Any
    keep: bool  # keep the rows, then fail: the answer lost on its way back


@dataclass
class LowcodeState:
    api_key: str = DEV_API_KEY
    db_path: str = ":memory:"
    failures: list[Failure | None] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.db = sqlite3.connect(self.db_path, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    # the store (callers hold the lock)

    def kept(self, transaction_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM transactions WHERE transaction_id = ?", (transaction_id,)
        ).fetchone()
        return row

    def keep(
        self, form: str, transaction_id: str, rows_hash: str, rows: list[dict[str, Any]]
    ) -> list[str]:
        now = datetime.now().isoformat(timespec="seconds")
        ids = [uuid.uuid4().hex[:24] for _ in rows]
        with self.db:
            self.db.execute(
                "INSERT INTO transactions VALUES (?, ?, ?, ?, ?)",
                (transaction_id, form, rows_hash, json.dumps(ids), now),
            )
            self.db.executemany(
                "INSERT INTO records (record_id, form, transaction_id, data, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (rid, form, transaction_id, json.dumps(row, ensure_ascii=False), now)
                    for rid, row in zip(ids, rows, strict=True)
                ],
            )
        return ids

    def records(self, form: str) -> list[dict[str, Any]]:
        return [
            {
                "record_id": r["record_id"],
                "transaction_id": r["transaction_id"],
                "created_at": r["created_at"],
                "data": json.loads(r["data"]),
            }
            for r in self.db.execute("SELECT * FROM records WHERE form = ? ORDER BY n", (form,))
        ]

    def forms(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT form, COUNT(*) AS n FROM records GROUP BY form ORDER BY form"
        ).fetchall()
        return {r["form"]: r["n"] for r in rows}

    def reset(self) -> None:
        with self.db:
            self.db.execute("DELETE FROM records")
            self.db.execute("DELETE FROM transactions")
        self.failures.clear()
        self.requests.clear()


def _error(status: int, code: Any, message: str) -> tuple[Response, int]:
    return jsonify(code=code, message=message), status


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _rows_hash(rows: list[dict[str, Any]]) -> str:
    raw = json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def create_lowcode_sim_app(state: LowcodeState | None = None) -> Flask:
    app = Flask(__name__)
    st = state or LowcodeState()
    app.extensions["lowcode_state"] = st

    @app.post("/api/v1/forms/<form>/records:batch")
    def create_records(form: str):
        answer = _create(st, form)
        with st.lock:
            st.requests.append(
                {
                    "form": form,
                    "transaction_id": (request.get_json(silent=True) or {}).get("transaction_id"),
                    "status": answer[1],
                }
            )
        return answer

    @app.get("/")
    def index() -> str:
        form = request.args.get("form", "")
        with st.lock:
            forms = st.forms()
            shown = form or next(iter(forms), "")
            records = st.records(shown) if shown else []
        columns: list[str] = []
        for record in records:
            columns += [k for k in record["data"] if k not in columns]
        return render_template_string(
            PAGE, forms=forms, shown=shown, records=records, columns=columns, cell=_cell
        )

    @app.get("/_sim/records")
    def records():
        form = request.args.get("form")
        with st.lock:
            if form:
                found = st.records(form)
                return jsonify(form=form, count=len(found), records=found)
            return jsonify(forms=st.forms())

    @app.get("/_sim/requests")
    def requests_made():
        with st.lock:
            return jsonify(requests=list(st.requests))

    @app.post("/_sim/fail")
    def fail():
        data = request.get_json(force=True) or {}
        failure = Failure(
            status=int(data.get("status", 503)),
            message=str(data.get("message") or "低代码平台维护中，请稍后再试"),
            code=data.get("code", int(data.get("status", 503)) * 100),
            keep=bool(data.get("keep", False)),
        )
        with st.lock:
            # "after": that many requests answered normally first
            st.failures.extend([None] * int(data.get("after", 0)))
            st.failures.extend([failure] * int(data.get("times", 1)))
        return jsonify(ok=True)

    @app.post("/_sim/reset")
    def reset():
        with st.lock:
            st.reset()
        return jsonify(ok=True)

    return app


def _create(st: LowcodeState, form: str) -> tuple[Response, int]:
    auth = request.headers.get("Authorization", "")
    if auth != f"Bearer {st.api_key}":
        return _error(401, 40101, "API 密钥无效或缺失")
    if not FORM_NAME.match(form):
        return _error(404, 40401, f"表单 {form} 不存在")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, 40001, "请求体必须是 JSON 对象")
    tx, rows = body.get("transaction_id"), body.get("rows")
    if not isinstance(tx, str) or not 0 < len(tx) <= 64:
        return _error(400, 40002, "transaction_id 必须是 1–64 个字符的字符串")
    if not isinstance(rows, list) or not rows:
        return _error(400, 40003, "rows 必须是非空数组")
    if len(rows) > MAX_ROWS:
        return _error(400, 40004, f"每批最多 {MAX_ROWS} 条记录，收到 {len(rows)} 条")
    if not all(isinstance(r, dict) for r in rows):
        return _error(400, 40005, "rows 的每一项必须是 JSON 对象")
    digest = _rows_hash(rows)
    with st.lock:
        failure = st.failures.pop(0) if st.failures else None
        if failure is not None and not failure.keep:
            return _error(failure.status, failure.code, failure.message)
        kept = st.kept(tx)
        if kept is not None:
            if kept["form"] != form or kept["rows_hash"] != digest:
                return _error(409, 40901, f"transaction_id {tx} 已用于另一批数据")
            ids = json.loads(kept["record_ids"])
        else:
            ids = st.keep(form, tx, digest, rows)
    if failure is not None:
        return _error(failure.status, failure.code, failure.message)
    return jsonify(transaction_id=tx, record_ids=ids), 200


PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>低代码平台（模拟）</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
nav a { margin-right: 1em; } nav a.on { font-weight: bold; }
</style></head>
<body>
<h1>低代码平台（模拟）</h1>
<p>本页显示静脉通路管理系统推送到医院低代码平台的数据。</p>
{% if not forms %}
<p id="empty">暂无数据：还没有收到任何推送。</p>
{% else %}
<nav>表单：{% for name, n in forms.items() %}
<a href="/?form={{ name }}" class="{{ 'on' if name == shown else '' }}">{{ name }}（{{ n }} 条）</a>
{% endfor %}</nav>
<h2>表单 {{ shown }}：{{ records|length }} 条记录</h2>
<table id="records">
<thead><tr><th>记录编号</th><th>事务编号</th><th>接收时间</th>
{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in records %}<tr><td>{{ r.record_id }}</td><td>{{ r.transaction_id }}</td>
<td>{{ r.created_at }}</td>
{% for c in columns %}<td>{{ cell(r.data.get(c)) }}</td>{% endfor %}
</tr>{% endfor %}
</tbody></table>
{% endif %}
</body></html>
"""
