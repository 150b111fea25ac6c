"""Patient names in a clinician's message, read from the text itself (issue 12 §3).

Chinese person names are open-class: no training set covers them, so the dialogue model tags
some and misses others. The worker reads them before asking the engine: every run of 2–4
Chinese characters that is the name of a patient this clinician may see (never a name outside
the access rules), and, for a name that matches nobody the clinician may see, jieba's
part-of-speech guess (``nr``) — so "查一下王小明" is answered "没有找到" instead of being asked
for a name it already gave.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Patient, Staff

from .access import visible_patients_clause

_HAN_RUN = re.compile(r"[\u4e00-\u9fff·]{2,}")
_PUNCT = " \t\r\n，。！？、,.!?：:；;（）()“”\"'【】[]~～…"


def _candidates(text: str) -> dict[str, int]:
    """Every 2–4 character stretch of the Chinese runs of ``text``, with where it starts."""
    found: dict[str, int] = {}
    for run in _HAN_RUN.finditer(text):
        chunk = run.group()
        for size in (4, 3, 2):
            for start in range(len(chunk) - size + 1):
                found.setdefault(chunk[start : start + size], run.start() + start)
    return found


def visible_names(session: Session, staff: Staff, text: str) -> list[str]:
    """Names of patients ``staff`` may see that ``text`` contains, in the order written; a
    name inside a longer one found ("张金" in "张金根") is dropped."""
    candidates = _candidates(text)
    if not candidates:
        return []
    names = set(
        session.scalars(
            select(Patient.name)
            .where(
                Patient.name.in_(candidates),
                Patient.active.is_(True),  # a deactivated record is not offered (A1.1)
                visible_patients_clause(staff),
            )
            .distinct()
        )
    )
    whole = [n for n in names if not any(n != m and n in m for m in names)]
    return sorted(whole, key=lambda n: candidates[n])


@cache
def _tagger() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)  # its dictionary loads once per process, quietly
    return jieba.posseg


def guessed_names(text: str) -> list[str]:
    """Words jieba tags as person names (``nr``), two characters or more."""
    return [w.word for w in _tagger().cut(text) if w.flag == "nr" and len(w.word) >= 2]


def hints(session: Session, staff_id: int, text: str) -> dict[str, Any]:
    """What the worker tells the engine about names in a clinician's text: the patients'
    names it contains, and jieba's guesses when it contains none."""
    staff = session.get(Staff, staff_id)
    if staff is None or not text.strip():
        return {}
    names = visible_names(session, staff, text)
    return {"patient_names": names} if names else {"name_guesses": guessed_names(text)}


def only_a_name(text: str, names: list[str]) -> str | None:
    """The name, when the message is nothing but one of ``names`` ("张金根", "张金根？")."""
    bare = text.strip(_PUNCT)
    return bare if bare in names else None
