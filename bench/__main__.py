"""``python -m bench [name]`` — run the benchmarks and print their report."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "seed_demo",
    "callback_ack",
    "dialogue",
    "reminder_sweep",
    "follow_up_sweep",
    "burst",
    "ocr",
    "dashboard_queries",
    "xlsx_export",
]


def main(names: list[str]) -> None:
    for name in names or BENCHMARKS:
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
