"""OCR of report photos on this machine: seconds per photo (median, p90, by photo size), peak
memory of the reading process, and field accuracy on generated reports of the six kinds —
kind, report date, institution, lab items (name and value), conclusion — next to RapidOCR's
raw-text ceiling (the share of printed item values found anywhere in the raw text: what the
field extraction could at best get). Targets (issue 13): median < 3 s per photo, < 1 GB,
fields ≥ 90 %.

The photos (``devtools.report_images.variety``: 1280×960 … 3024×4032, turned, skewed, blurred,
dark, noisy) are generated first; a fresh process then reads them with ``bot.ocr.read_image``,
so its peak memory is the reader's alone.
``python -m bench.ocr [N] [--long-side PX] [--misses]`` (``--misses`` lists the items not read).
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

PHOTOS = 36  # six of each kind
ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--read"]:
        _read(Path(argv[1]), int(argv[2]))
        return
    count = int(argv[0]) if argv and argv[0].isdigit() else PHOTOS
    long_side = int(argv[argv.index("--long-side") + 1]) if "--long-side" in argv else 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _generate(folder, count)
        out = subprocess.run(
            [sys.executable, "-m", "bench.ocr", "--read", str(folder), str(long_side)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        truths = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    _report(result, truths, long_side, show_misses="--misses" in argv)


def _generate(folder: Path, count: int) -> None:
    from devtools.report_images import NON_REPORTS, other_photo, report_photo, variety

    for seed, kind, photo in variety(count):
        data, truth = report_photo(seed, kind, photo)
        (folder / f"{seed}.jpg").write_bytes(data)
        (folder / f"{seed}.json").write_text(json.dumps(truth, ensure_ascii=False))
    for n, what in enumerate(NON_REPORTS):
        (folder / f"not-{what}.jpg").write_bytes(other_photo(what, seed=n))


def _read(folder: Path, long_side: int) -> None:
    """In the fresh process: load the engine, read every photo, print one JSON line."""
    from bot.care.defaults import DEFAULT_DICTIONARY
    from bot.care.dictionary import build_dictionary
    from bot.ocr import engine, images, read_image

    if long_side:
        images.LONG_SIDE = long_side
    dictionary = build_dictionary(DEFAULT_DICTIONARY, 0)
    t0 = time.perf_counter()
    ocr = engine()
    loaded = time.perf_counter() - t0
    rss_loaded = _peak_mb()
    readings = {}
    for path in sorted(folder.glob("*.jpg")):
        reading = read_image(path.read_bytes(), dictionary, ocr=ocr)
        readings[path.stem] = reading.to_json(path.name) | {"is_report": reading.is_report}
    print(
        json.dumps(
            {
                "engine": ocr.name,
                "load_seconds": loaded,
                "rss_after_load_mb": rss_loaded,
                "peak_mb": _peak_mb(),
                "readings": readings,
            },
            ensure_ascii=False,
        )
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _norm(text: str | None) -> str:
    """For comparing: NFKC, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"[\s,.;:()（），。；：、]", "", text)


def _report(
    result: dict[str, Any], truths: dict[str, dict[str, Any]], long_side: int, show_misses: bool
) -> None:
    readings = result["readings"]
    hits: dict[str, list[bool]] = defaultdict(list)
    seconds_by_size: dict[str, list[float]] = defaultdict(list)
    seconds_by_kind: dict[str, list[float]] = defaultdict(list)
    seconds = []
    for stem, truth in truths.items():
        got = readings[stem]
        size = "×".join(str(v) for v in truth["photo"]["size"])
        seconds.append(got["seconds"])
        seconds_by_size[size].append(got["seconds"])
        seconds_by_kind[truth["kind"]].append(got["seconds"])
        hits["kind"].append(got["kind"] == truth["kind"])
        hits["report date"].append(got["report_date"] == truth["report_date"])
        hits["institution"].append(got["institution"] == truth["institution"])
        if truth["conclusion"]:
            hits["conclusion"].append(_norm(got["conclusion"]) == _norm(truth["conclusion"]))
        for field in ("kind", "report_date", "institution", "conclusion"):
            if show_misses and _norm(got[field]) != _norm(truth[field]):
                print(f"missed in {stem} ({size}): {field} {truth[field]!r} read {got[field]!r}")
        read = {(i["code"] or _norm(i["name"]), _norm(i["value"])) for i in got["items"]}
        raw = _norm(got["text"])
        for item in truth["items"]:
            key = (item["code"] or _norm(item["name"]), _norm(item["value"]))
            hits["items (name + value)"].append(key in read)
            if show_misses and key not in read:
                print(f"missed in {stem} ({truth['kind']}, {size}): {item} read {got['items']}")
            hits["items: flag"].append(
                key in read
                and any(
                    (i["code"] or _norm(i["name"]), _norm(i["value"])) == key
                    and i["flag"] == item["flag"]
                    for i in got["items"]
                )
            )
            hits["raw text ceiling: values"].append(_norm(item["value"]) in raw)
    others = [v for k, v in readings.items() if k.startswith("not-")]
    hits["not a report → is_report false"] = [not r["is_report"] for r in others]
    cpus = os.cpu_count()
    print(
        f"OCR of report photos, {result['engine']}, {cpus} cores, {len(truths)} generated reports "
        f"(6 kinds) + {len(others)} other photos, long side {long_side or 'default'}"
    )
    print(f"engine load: {result['load_seconds']:.1f} s, {result['rss_after_load_mb']:.0f} MB")
    q = statistics.quantiles(seconds, n=10)
    print(
        f"seconds per photo: median {statistics.median(seconds):.2f}, p90 {q[-1]:.2f}, "
        f"max {max(seconds):.2f} (target median < 3 s)"
    )
    for size, values in sorted(seconds_by_size.items(), key=lambda kv: _pixels(kv[0])):
        print(f"  {size}: median {statistics.median(values):.2f} s ({len(values)} photos)")
    for kind, values in seconds_by_kind.items():
        print(f"  {kind}: median {statistics.median(values):.2f} s ({len(values)} photos)")
    print(f"peak memory of the reading process: {result['peak_mb']:.0f} MB (target < 1 GB)")
    for name, values in hits.items():
        print(f"{name}: {100 * sum(values) / len(values):.1f} % ({sum(values)}/{len(values)})")


def _pixels(size: str) -> int:
    w, h = (int(v) for v in size.split("×"))
    return w * h


if __name__ == "__main__":
    main()
