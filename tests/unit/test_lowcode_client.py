"""The low-code platform client without a network (a fake transport mounted on its requests
session): what goes on the wire, how the platform's answers become record ids, rejections or
"unavailable"; the backoff and transaction ids of the push; development's simulator."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from requests.adapters import BaseAdapter

from bot.adapters.lowcode import LowcodeClient, LowcodeRejected, LowcodeUnavailable
from bot.services.lowcode import next_attempt_delay, transaction_id
from devtools.dev_env import exports
from devtools.lowcode_sim import DEV_API_KEY

pytestmark = pytest.mark.req("A7.6")


class FakeTransport(BaseAdapter):
    """Answers every request with ``answer`` (status, body) or raises it; keeps the requests."""

    def __init__(self, answer) -> None:
        super().__init__()
        self.answer = answer
        self.sent: list[tuple[requests.PreparedRequest, dict]] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def, override]
        self.sent.append((request, kwargs))
        if isinstance(self.answer, Exception):
            raise self.answer
        status, body = self.answer
        res = requests.Response()
        res.status_code, res.request, res.url = status, request, request.url
        res._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        res.reason = {200: "OK", 502: "Bad Gateway"}.get(status, "")
        return res

    def close(self) -> None:
        pass


def client(answer, timeout: float = 7.0) -> tuple[LowcodeClient, FakeTransport]:
    fake = FakeTransport(answer)
    http = requests.Session()
    http.mount("https://", fake)
    return LowcodeClient("https://lowcode.example/", "KEY-1", http, timeout), fake


def test_a7_6_a_batch_is_posted_with_the_bearer_key_its_transaction_id_and_a_timeout():
    c, fake = client((200, {"transaction_id": "tx-1", "record_ids": ["r1", 2]}))
    assert c.create_records("静脉/导出", [{"a": 1}, {"a": "二"}], "tx-1") == ["r1", "2"]
    [(req, kwargs)] = fake.sent
    assert req.method == "POST"
    assert req.url == (
        "https://lowcode.example/api/v1/forms/%E9%9D%99%E8%84%89%2F%E5%AF%BC%E5%87%BA/records:batch"
    )
    assert req.headers["Authorization"] == "Bearer KEY-1"
    assert json.loads(req.body) == {"transaction_id": "tx-1", "rows": [{"a": 1}, {"a": "二"}]}
    assert kwargs["timeout"] == 7.0


R, U = LowcodeRejected, LowcodeUnavailable
ERRORS = [
    (400, {"code": 40010, "message": "字段格式错误"}, R, "字段格式错误（HTTP 400，错误码 40010）"),
    (401, {"code": "auth", "message": "密钥无效"}, R, "密钥无效（HTTP 401，错误码 auth）"),
    (404, {"message": "表单不存在"}, R, "表单不存在（HTTP 404）"),
    (429, {"code": 1, "message": "请求过于频繁"}, U, "请求过于频繁（HTTP 429，错误码 1）"),
    (503, {"code": 9, "message": "维护中"}, U, "维护中（HTTP 503，错误码 9）"),
    (502, "<html>bad gateway</html>", U, "<html>bad gateway</html>（HTTP 502）"),
]


@pytest.mark.parametrize(("status", "body", "kind", "message"), ERRORS)
def test_a7_6_errors_keep_the_platforms_message_and_say_whether_to_try_again(
    status, body, kind, message
):
    c, _ = client((status, body))
    with pytest.raises(kind) as err:
        c.create_records("f", [{"a": 1}], "tx")
    assert type(err.value) is kind
    assert err.value.message == message and err.value.status == status


def test_a7_6_no_answer_is_unavailable_not_a_hang():
    c, _ = client(requests.ReadTimeout("read timed out"), timeout=3)
    with pytest.raises(LowcodeUnavailable) as slow:
        c.create_records("f", [{"a": 1}], "tx")
    assert slow.value.message == "低代码平台在 3 秒内没有应答" and slow.value.status is None
    c, _ = client(requests.ConnectionError("refused"))
    with pytest.raises(LowcodeUnavailable) as down:
        c.create_records("f", [{"a": 1}], "tx")
    assert down.value.message == "无法连接低代码平台（ConnectionError）"


def test_a7_6_an_answer_without_one_id_per_row_is_refused():
    c, _ = client((200, {"record_ids": ["only-one"]}))
    with pytest.raises(LowcodeRejected) as short:
        c.create_records("f", [{"a": 1}, {"a": 2}], "tx")
    assert short.value.message == "低代码平台返回 1 个记录编号，提交的是 2 行"
    c, _ = client((200, "not json"))
    with pytest.raises(LowcodeRejected):
        c.create_records("f", [{"a": 1}], "tx")


def test_a7_6_a_batch_holds_one_to_a_hundred_rows():
    c, fake = client((200, {"record_ids": []}))
    with pytest.raises(ValueError):
        c.create_records("f", [{"n": n} for n in range(101)], "tx")
    with pytest.raises(ValueError):
        c.create_records("f", [], "tx")
    assert fake.sent == []


def test_a7_6_failed_pushes_back_off_from_five_minutes_doubling_to_six_hours():
    minutes = [next_attempt_delay(n) / timedelta(minutes=1) for n in range(1, 9)]
    assert minutes == [5, 10, 20, 40, 80, 160, 320, 360]


def test_a7_6_a_batchs_transaction_id_names_the_export_the_batch_and_the_file():
    export = SimpleNamespace(id=12, file_sha256="ab" * 32)
    assert transaction_id(export, 0) == "vam-export-12-0-abababababab"  # type: ignore[arg-type]
    assert transaction_id(export, 3) == "vam-export-12-3-abababababab"  # type: ignore[arg-type]
    rewritten = SimpleNamespace(id=12, file_sha256="cd" * 32)
    assert transaction_id(rewritten, 3) != transaction_id(export, 3)  # type: ignore[arg-type]


def test_a7_6_development_pushes_to_the_simulator_unless_a_platform_is_configured():
    lines = dict(line.removeprefix("export ").split("=", 1) for line in exports({}))
    assert lines["LOWCODE_BASE_URL"] == "http://127.0.0.1:5085"
    assert lines["LOWCODE_API_KEY"] == DEV_API_KEY
    real = exports({"LOWCODE_BASE_URL": "https://lowcode.hospital.example"})
    assert not any(line.startswith("export LOWCODE_") for line in real)


def test_a7_6_a_dashboard_tables_rows_go_to_a_form_the_platform_can_name():
    from bot.services.lowcode import form_of

    assert form_of("table:device_mix", {}) == "table_device_mix"  # ":" is not a form name
    assert form_of("placements", {}) == "placements"
    assert form_of("table:device_mix", {"table:device_mix": "64f1"}) == "64f1"
