"""Requirement traceability report: docs/requirements.md from the last test run.

    .venv/bin/python scripts/req_report.py          (or: make req-report)

Reads
  * the requirement IDs of ../shared/mission/README.md ("P3.1–3" is P3.1, P3.2 and P3.3); where
    that file is not at hand (a clone elsewhere, CI) the checked-in copy docs/requirement-ids.txt,
    which this script refreshes whenever the mission file is there;
  * the status of each ID in the feature table of README.md (done / partial / not yet);
  * the req IDs and outcomes of the tests, .pytest-req.json, written by the pytest plugin
    tests/support/reqs.py (merged over the runs of scripts/run-tests.sh);
and writes docs/requirements.md: ID → README status → the tests that show it → their result.

Exits 1 when an ID the README calls done has no passing test (they are listed), 2 when there
are no test results to read.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import reqs  # noqa: E402

STATUS = re.compile(r"(done(?: for [^:;—]+)?|partial|not yet)", re.IGNORECASE)


def readme_statuses(readme: Path) -> dict[str, tuple[str, str]]:
    """ID → (requirement, status word) from README.md's "Features by requirement" table."""
    text = readme.read_text(encoding="utf-8")
    start = text.find("## Features by requirement")
    if start < 0:
        raise SystemExit(f"{readme}: no '## Features by requirement' section")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end > 0 else len(text)]
    out: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        m = reqs._ROW.match(line.strip())
        if not m:
            continue
        cells = m.group(4).rstrip().rstrip("|").split("|")
        name, status = cells[0].strip(), "|".join(cells[1:]).strip()
        word = STATUS.match(status)
        for req_id in reqs.expand(m):
            out[req_id] = (name, word.group(1).strip() if word else status[:40] or "?")
    return out


def base(nodeid: str) -> str:
    """A parametrised test's node id without its parameters."""
    return nodeid.split("[", 1)[0]


def group_tests(tests: dict[str, dict]) -> dict[str, dict[str, list[str]]]:
    """ID → test (parametrisations together) → the outcomes of its node ids."""
    by_id: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for nodeid, entry in tests.items():
        for req_id in entry.get("req", []):
            by_id[req_id][base(nodeid)].append(entry.get("outcome", "not run"))
    return by_id


def outcome_of(outcomes: list[str]) -> str:
    return reqs.overall(dict(enumerate(outcomes)))


def result_cell(per_test: dict[str, list[str]]) -> str:
    if not per_test:
        return "no test in the results"
    outcomes = [outcome_of(o) for o in per_test.values()]
    n = len(outcomes)
    failed, passed = outcomes.count("failed"), outcomes.count("passed")
    if failed:
        return f"**failed** ({failed} of {n})"
    if passed:
        rest = n - passed
        return f"passed ({passed}" + (f"; {rest} not run)" if rest else ")")
    if "skipped" in outcomes:
        return "skipped"
    return "not run"


def tests_cell(per_test: dict[str, list[str]]) -> str:
    rows = []
    for test, outcomes in sorted(per_test.items()):
        times = f" ×{len(outcomes)}" if len(outcomes) > 1 else ""
        rows.append(f"`{test}`{times} — {outcome_of(outcomes)}")
    return "<br>".join(rows) if rows else "—"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=reqs.RESULTS)
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "requirements.md")
    args = parser.parse_args(argv)

    if reqs.MISSION.is_file():
        ids = reqs.mission_ids()
        if reqs.write_ids_copy(ids):
            print(f"req-report: refreshed {reqs.IDS_COPY.relative_to(ROOT)} from {reqs.MISSION}")
        source = "../shared/mission/README.md"
    else:
        ids = reqs.read_ids_copy()
        source = f"{reqs.IDS_COPY.relative_to(ROOT)} (the mission file is not at hand)"
    if not ids:
        print(f"req-report: no requirement IDs in {reqs.MISSION} or {reqs.IDS_COPY}")
        return 2

    data = reqs.load_results(args.results)
    if not data["tests"]:
        print(f"req-report: no test results in {args.results}: run pytest first")
        return 2

    statuses = readme_statuses(args.readme)
    by_id = group_tests(data["tests"])
    rows, unproven = [], []
    for req_id in sorted(ids, key=reqs.sort_key):
        name, status = statuses.get(req_id, ("", "not in README"))
        per_test = by_id.get(req_id, {})
        result = result_cell(per_test)
        if status.lower().startswith("done") and not result.startswith("passed"):
            unproven.append((req_id, status, result))
        rows.append(f"| {req_id} | {name} | {status} | {tests_cell(per_test)} | {result} |")
    strays = sorted(set(statuses) - set(ids), key=reqs.sort_key)

    marked = [t for t in data["tests"].values() if t.get("req")]
    runs = data.get("runs", [])
    lines = [
        "# Requirements and the tests that show them",
        "",
        "Generated by `scripts/req_report.py` (`make req-report`, also the last step of",
        "`scripts/run-tests.sh`) — do not edit by hand. IDs: " + source + "; status: the feature",
        "table of README.md; tests: `@pytest.mark.req(...)` (tests/support/reqs.py), with their",
        "outcome in the last runs (`.pytest-req.json`: a test failing on any database counts as",
        'failed; "not run": collected but deselected, e.g. the `rasa` and `browser` tests of a',
        "local run). Parametrised tests are listed once (×n: their cases).",
        "",
        f"{len(ids)} requirement IDs; {len(marked)} of {len(data['tests'])} collected test cases "
        f"carry a `req` marker; {sum(1 for i in ids if by_id.get(i))} IDs have at least one test.",
        "",
    ]
    if runs:
        lines += ["Runs merged (newest last):", ""]
        for run in runs:
            lines.append(
                f"- {run.get('finished', '?')} — {run.get('variant', '?')}, "
                f"`pytest {shlex.join(run.get('args', []))}`: {run.get('ran', '?')} run, "
                f"exit {run.get('exitstatus', '?')}"
            )
        lines.append("")
    if unproven:
        lines += ["**Called done in README.md without a passing test:**", ""]
        lines += [f"- {i} ({s}): {r}" for i, s, r in unproven]
        lines.append("")
    if strays:
        lines += [f"README.md rows that are no requirement ID: {', '.join(strays)}", ""]
    lines += ["| ID | requirement | README status | tests | result |", "|---|---|---|---|---|"]
    lines += rows
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")

    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"req-report: wrote {shown} ({len(ids)} IDs, {len(marked)} marked test cases)")
    if unproven:
        print("req-report: README.md calls these done, but no test showing them passed:")
        for req_id, status, result in unproven:
            print(f"  {req_id} ({status}): {result}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
