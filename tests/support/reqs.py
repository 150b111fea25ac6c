"""Requirement traceability: the ``req`` marker (``@pytest.mark.req("P2.2", "C2.1")``).

Loaded by tests/conftest.py. At collection every ID in a ``req`` marker is checked against the
requirement IDs of ../shared/mission/README.md (or its checked-in copy,
docs/requirement-ids.txt); an unknown ID stops the run with the test and the ID named.

After the run the ``req`` IDs and the outcome of every collected test are merged into
``.pytest-req.json`` in the repository root (gitignored), which scripts/req_report.py turns
into docs/requirements.md. Results are merged, not replaced, so that the suite run in several
invocations (scripts/run-tests.sh runs the database tests a second time on SQLite) gives one
picture: each test keeps its latest outcome per *variant* (the database and Redis it ran
against), and a test that failed in any variant counts as failed. A test collected but not
run (deselected by ``-m rasa`` etc.) is listed as "not run" unless an earlier run has a
result. A run over the whole suite (no paths given) drops tests that no longer exist.
``--req-fresh`` starts the file over.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSION = ROOT.parent / "shared" / "mission" / "README.md"
IDS_COPY = ROOT / "docs" / "requirement-ids.txt"
RESULTS = ROOT / ".pytest-req.json"

# a table row's first cell: "P2.2", "X.1", or a range "P3.1–3" / "P3.1-3"
_ROW = re.compile(r"^\|\s*([A-Z]\d*)\.(\d+)(?:\s*[–-]\s*(\d+))?\s*\|(.*)$")

OUTCOMES = ("failed", "passed", "skipped", "not run")  # worst first


def expand(first_cell_match: re.Match[str]) -> list[str]:
    """The IDs of one table row: "P3.1–3" is P3.1, P3.2 and P3.3."""
    prefix, start, end = first_cell_match.group(1), int(first_cell_match.group(2)), None
    if first_cell_match.group(3):
        end = int(first_cell_match.group(3))
    return [f"{prefix}.{n}" for n in range(start, (end or start) + 1)]


def parse_id_table(text: str) -> dict[str, str]:
    """ID → the rest of its row, for every requirement row of a markdown table."""
    ids: dict[str, str] = {}
    for line in text.splitlines():
        m = _ROW.match(line.strip())
        if m:
            for req_id in expand(m):
                ids.setdefault(req_id, m.group(4).strip())
    return ids


def mission_ids() -> dict[str, str]:
    """ID → meaning, from the mission file beside the repository, else the checked-in copy."""
    if MISSION.is_file():
        rows = parse_id_table(MISSION.read_text(encoding="utf-8"))
        # "| 原文 | meaning |": keep the English meaning
        return {k: v.rstrip("|").split("|")[-1].strip() for k, v in rows.items()}
    return read_ids_copy()


def read_ids_copy(path: Path = IDS_COPY) -> dict[str, str]:
    ids: dict[str, str] = {}
    if not path.is_file():
        return ids
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            req_id, _, meaning = line.partition("\t")
            ids[req_id.strip()] = meaning.strip()
    return ids


def write_ids_copy(ids: dict[str, str], path: Path = IDS_COPY) -> bool:
    """Refresh the checked-in copy; True when it changed."""
    text = (
        "# The requirement IDs of ../shared/mission/README.md, one per line (ID<TAB>meaning).\n"
        "# Written by scripts/req_report.py whenever the mission file is at hand; read instead\n"
        "# of it where it is not (a clone elsewhere, CI).\n"
        + "".join(f"{k}\t{v}\n" for k, v in ids.items())
    )
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def variant() -> str:
    """What a run of the same test may differ by: the database and the Redis behind it."""
    url = os.environ.get("DATABASE_URL") or ""
    db = url.split(":", 1)[0].split("+", 1)[0] if url else "sqlite-embedded"
    redis = "redis-url" if os.environ.get("REDIS_URL") else "redis-embedded"
    return f"{db},{redis}"


def overall(outcomes: dict[str, str]) -> str:
    """One outcome of a test over its variants: failed anywhere is failed."""
    present = set(outcomes.values())
    return next((o for o in OUTCOMES if o in present), "not run")


@contextmanager
def _locked(path: Path):
    lock = path.with_name(path.name + ".lock")
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_results(path: Path = RESULTS) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"version": 1, "runs": [], "tests": {}}
    if data.get("version") != 1:
        return {"version": 1, "runs": [], "tests": {}}
    return data


# --------------------------------------------------------------------------------- the plugin


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("req", "requirement traceability")
    group.addoption(
        "--req-results",
        default=str(RESULTS),
        help="where the req IDs and outcomes are merged (default: .pytest-req.json)",
    )
    group.addoption(
        "--req-fresh",
        action="store_true",
        help="discard the earlier results in --req-results instead of merging",
    )


class _Recorder:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.known = mission_ids()
        self.reqs: dict[str, list[str]] = {}  # every collected test (before deselection)
        self.outcomes: dict[str, str] = {}  # the tests that ran
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.collection_errors = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        problems = []
        for item in items:
            ids: list[str] = []
            for marker in item.iter_markers("req"):
                if not marker.args or marker.kwargs:
                    problems.append(
                        f"{item.nodeid}: req() takes requirement IDs only, e.g. "
                        '@pytest.mark.req("P2.2")'
                    )
                for arg in marker.args:
                    if not isinstance(arg, str) or arg not in self.known:
                        problems.append(f"{item.nodeid}: unknown requirement ID {arg!r}")
                    elif arg not in ids:
                        ids.append(arg)
            self.reqs[item.nodeid] = sorted(ids, key=sort_key)
        if not self.known:
            raise pytest.UsageError(
                f"no requirement IDs: neither {MISSION} nor {IDS_COPY} could be read"
            )
        if problems:
            source = MISSION if MISSION.is_file() else IDS_COPY
            raise pytest.UsageError(
                "@pytest.mark.req names IDs that are not requirements of "
                f"{source} (write each ID alone: P3.1, P3.2, not P3.1–3):\n  "
                + "\n  ".join(problems)
            )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors = True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            outcome = "failed"
        elif report.skipped:
            outcome = "skipped"
        elif report.when == "call":
            outcome = "passed"
        else:
            return
        previous = self.outcomes.get(report.nodeid)
        if previous is None or OUTCOMES.index(outcome) < OUTCOMES.index(previous):
            self.outcomes[report.nodeid] = outcome

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.reqs or hasattr(self.config, "workerinput"):  # nothing collected / xdist
            return
        if self.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        path = Path(self.config.getoption("req_results"))
        whole_suite = (
            self.config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and not self.collection_errors  # a module that failed to import still exists
        )
        here = variant()
        with _locked(path):
            data = (
                {"version": 1, "runs": [], "tests": {}}
                if self.config.getoption("req_fresh")
                else load_results(path)
            )
            tests: dict[str, Any] = data["tests"]
            if whole_suite:
                for gone in set(tests) - set(self.reqs):
                    del tests[gone]
            for nodeid, ids in self.reqs.items():
                entry = tests.setdefault(nodeid, {"req": ids, "variants": {}})
                entry["req"] = ids
                if nodeid in self.outcomes:
                    entry["variants"][here] = self.outcomes[nodeid]
                entry["outcome"] = overall(entry["variants"])
            data["runs"] = (
                data["runs"]
                + [
                    {
                        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                        "started": self.started,
                        "variant": here,
                        "args": self.config.invocation_params.args,
                        "exitstatus": int(exitstatus),
                        "ran": len(self.outcomes),
                    }
                ]
            )[-10:]
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)


def sort_key(req_id: str) -> tuple[int, int, int]:
    """P before C before A before X, then by number: P2.10 after P2.9."""
    head, _, minor = req_id.partition(".")
    order = "PCAX".find(head[0]) if head else 9
    major = int(head[1:]) if head[1:].isdigit() else 0
    return (order if order >= 0 else 9, major, int(minor) if minor.isdigit() else 0)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Recorder(config), "req-recorder")
