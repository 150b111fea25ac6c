"""How well the chat finds the article that answers a patient's question (P7.1): the seeded
articles (bot/seed/data/articles.yaml) published in a scratch SQLite database, then every
question of bench/data/education_queries.yaml asked as a patient asks it. Prints top-1 and
top-3 accuracy, each miss with what came instead, and the off-topic questions that found
something (the threshold's false answers). Quality, not time; never pass/fail (the floor is in
tests/integration/test_education_retrieval.py)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from bot.db import make_engine, make_session_factory
from bot.models import Base, EducationArticle
from bot.seed.tables import ARTICLES
from bot.services.education import retrieval

QUERIES = Path(__file__).parent / "data" / "education_queries.yaml"


@dataclass
class Report:
    asked: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)  # q, wanted, got
    false_answers: list[tuple[str, str]] = field(default_factory=list)  # off-topic q, got

    def line(self) -> str:
        return (
            f"{self.asked} questions: top-1 {self.top1 / self.asked:.3f} "
            f"({self.top1}/{self.asked}), top-3 {self.top3 / self.asked:.3f} "
            f"({self.top3}/{self.asked})"
        )


def load() -> dict[str, list]:
    return yaml.safe_load(QUERIES.read_text(encoding="utf-8"))


def evaluate(session: Session, queries: dict[str, list]) -> Report:
    """Ask every question against the published articles in ``session``."""
    report = Report()
    for item in queries["questions"]:
        got = [m.title for m in retrieval.search(session, item["q"], limit=3)]
        report.asked += 1
        report.top1 += bool(got) and got[0] == item["a"]
        report.top3 += item["a"] in got
        if not got or got[0] != item["a"]:
            report.misses.append((item["q"], item["a"], got))
    for q in queries.get("none") or []:
        got = [m.title for m in retrieval.search(session, q, limit=1)]
        if got:
            report.false_answers.append((q, got[0]))
    return report


def seeded_session() -> Session:
    """A scratch SQLite database holding the seeded articles."""
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/education.db")
    Base.metadata.create_all(engine)
    session = make_session_factory(engine)()
    session.add_all(EducationArticle(**spec) for spec in ARTICLES)
    session.commit()
    return session


def main() -> None:
    retrieval.forget()
    report = evaluate(seeded_session(), load())
    print(f"Education retrieval (BM25 over jieba tokens): {report.line()}")
    for q, wanted, got in report.misses:
        print(f"  miss: {q!r} → {got or ['（无）']}; expected {wanted!r}")
    for q, title in report.false_answers:
        print(f"  off-topic answered: {q!r} → {title!r}")


if __name__ == "__main__":
    main()
