"""The lab items of the clinical dictionary: what a report's rows are matched against (P4.3).

An item has a code, a canonical label, the aliases printed on reports (Chinese names and
abbreviations), a unit, an adult reference range and, optionally, a ``cue``: the line-related
risk ("bleeding", "thrombosis", "infection") that a value below ("low") or above ("high") the
range points to.

Matching a printed name is conservative: exact after normalising (full-width letters, case,
spaces, punctuation OCR adds), then one wrong character (two in a name of eight or more, same
length) — only when no other item's name is as close, so that a misread 酸 in 嗜酸 never
becomes 嗜碱, and never into a longer name that merely contains a known one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

KINDS = ("blood_routine", "coagulation", "biochemistry")
CUES = ("bleeding", "thrombosis", "infection")

# OCR and typesetting noise in a name cell: markers of abnormal rows, bullets, separators
_NOISE = re.compile(r"[\s*★☆△▲▼·•_:：,，;；\"'`、|]+")
_ROW_NUMBER = re.compile(r"^\d{1,2}[.、)]?(?=\D)")
_DASHES = re.compile(r"[-‐‑‒–—―－~]")
_BRACKETED = re.compile(r"[(\[【（](.*?)[)\]】）]")


@dataclass(frozen=True)
class LabItem:
    code: str
    label: str
    aliases: tuple[str, ...]
    unit: str | None
    low: Decimal | None
    high: Decimal | None
    kind: str
    cue: Mapping[str, str] = field(default_factory=dict)  # "low"/"high" -> risk

    def cue_for(self, flag: str | None) -> str | None:
        """The risk a flagged value points to: "L" reads ``cue["low"]``, "H" ``cue["high"]``."""
        if flag == "L":
            return self.cue.get("low")
        if flag == "H":
            return self.cue.get("high")
        return None


def normalise(name: str) -> str:
    """The form names are compared in: NFKC (full-width to half-width), lower case, no spaces,
    no dashes, no marker characters, no leading row number; Greek gamma and micro unified."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = text.replace("γ", "y").replace("µ", "μ")
    text = _NOISE.sub("", text)
    text = _DASHES.sub("", text)
    return _ROW_NUMBER.sub("", text)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def validate(entries: Any) -> list[str]:
    """Every reason a ``lab_items`` list is unusable (empty list: it is fine)."""
    if not isinstance(entries, list):
        return ["检验项目 lab_items 必须是列表"]
    problems: list[str] = []
    codes = [e.get("code") for e in entries if isinstance(e, Mapping)]
    if len(codes) != len(entries):
        problems.append("检验项目 lab_items 中有条目不是对象")
    if any(not isinstance(c, str) or not c for c in codes):
        problems.append("检验项目中有条目缺少编码")
    if len(set(codes)) != len(codes):
        problems.append("检验项目编码重复")
    for e in (e for e in entries if isinstance(e, Mapping)):
        code = e.get("code")
        if not e.get("label"):
            problems.append(f"检验项目 {code} 缺少名称")
        aliases = e.get("aliases", [])
        if not isinstance(aliases, list) or any(not isinstance(a, str) for a in aliases):
            problems.append(f"检验项目 {code} 的别名必须是文字列表")
        low, high = e.get("low"), e.get("high")
        for key, value in (("low", low), ("high", high)):
            if value is not None and _decimal(value) is None:
                problems.append(f"检验项目 {code} 的 {key} 必须是数字或留空")
        low_d, high_d = _decimal(low), _decimal(high)
        if low_d is not None and high_d is not None and low_d >= high_d:
            problems.append(f"检验项目 {code} 的参考下限必须小于上限")
        if e.get("kind") not in KINDS:
            problems.append(f"检验项目 {code} 的类别必须是 {'、'.join(KINDS)} 之一")
        cue = e.get("cue") or {}
        if not isinstance(cue, Mapping) or any(
            k not in ("low", "high") or v not in CUES for k, v in cue.items()
        ):
            problems.append(f"检验项目 {code} 的提示 cue 只能是 low/high → {'、'.join(CUES)}")
    return problems


def build(entries: Iterable[Mapping[str, Any]]) -> dict[str, LabItem]:
    """Code -> LabItem, in the order given (entries already validated)."""
    return {
        e["code"]: LabItem(
            code=e["code"],
            label=e["label"],
            aliases=tuple(e.get("aliases") or ()),
            unit=e.get("unit") or None,
            low=_decimal(e.get("low")),
            high=_decimal(e.get("high")),
            kind=e["kind"],
            cue=dict(e.get("cue") or {}),
        )
        for e in entries
    }


@dataclass(frozen=True)
class LabNames:
    """The alias index: normalised name -> code, built once per dictionary."""

    exact: Mapping[str, str]

    @classmethod
    def of(cls, items: Mapping[str, LabItem]) -> LabNames:
        exact: dict[str, str] = {}
        for item in items.values():
            for name in (item.label, item.code, *item.aliases):
                key = normalise(name)
                if key:
                    exact.setdefault(key, item.code)  # the first item to claim a name keeps it
        return cls(exact)

    def find(self, printed: str) -> str | None:
        """The code of the item a printed name means, or None when unsure.

        Tried in turn: the whole cell, the cell without a bracketed part and the bracketed
        part alone ("白细胞计数(WBC)"), each space-separated word; exact first, then close."""
        candidates = _candidates(printed)
        for key in candidates:
            if key in self.exact:
                return self.exact[key]
        for key in candidates:
            code = self._close(key)
            if code:
                return code
        return None

    def _close(self, key: str) -> str | None:
        """A name one character away (two misread characters in a name of 8 or more), when
        every other item's name is further away. A longer name that contains a known one
        ("异型淋巴细胞百分比") is another item, not a misreading."""
        if len(key) < 4:
            return None
        nearest: dict[str, tuple[int, bool]] = {}  # code -> (distance, other length)
        for name, code in self.exact.items():
            if name in key:  # 前白蛋白 is not 白蛋白 misread: another item
                continue
            if abs(len(name) - len(key)) <= 2:
                found = (_distance(key, name, 4), len(name) != len(key))
                nearest[code] = min(nearest.get(code, (4, True)), found)
        ranked = sorted((d, other_length, code) for code, (d, other_length) in nearest.items())
        if not ranked:
            return None
        d, other_length, code = ranked[0]
        if not (d <= 1 or (d == 2 and not other_length and len(key) >= 8)):
            return None
        if len(ranked) > 1 and ranked[1][0] <= d:  # a tie: 嗜酸/嗜碱 with 酸 misread
            return None
        return code


def _candidates(printed: str) -> list[str]:
    text = unicodedata.normalize("NFKC", printed)
    variants = [text, _BRACKETED.sub("", text), *_BRACKETED.findall(text), *text.split()]
    seen: list[str] = []
    for v in variants:
        key = normalise(v)
        if key and key not in seen:
            seen.append(key)
    return seen


def _distance(a: str, b: str, cap: int) -> int:
    """Levenshtein distance, stopped early at ``cap``."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) >= cap:
            return cap
        previous = current
    return previous[-1]
