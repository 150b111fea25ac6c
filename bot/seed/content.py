"""The demo's education articles and agreements (articles.yaml, agreements.yaml) and the
appointment slots of the home clinic (institutions.yaml)."""

from __future__ import annotations

from datetime import timedelta

from bot.models import Agreement, ArticleVersion, ClinicSession, EducationArticle
from bot.models.enums import PublishStatus
from bot.services import appointments

from .context import Builder
from .tables import AGREEMENTS, ARTICLES, INSTITUTIONS


def content(b: Builder) -> None:
    author = b.experts[0]
    articles = []
    for i, spec in enumerate(ARTICLES):
        published = spec["status"] is PublishStatus.PUBLISHED
        written = b.at(b.today - timedelta(days=90 - i * 4), (9, 0), (17, 0))
        articles.append(
            EducationArticle(
                author_id=author.id,
                reviewed_by_id=b.admin.id if published else None,
                published_at=written + timedelta(days=2) if published else None,
                created_at=written,
                updated_at=written + timedelta(days=2),
                version=1,
                **spec,
            )
        )
    published_at = b.at(b.today - timedelta(days=120), (9, 0), (10, 0))
    agreements = [
        Agreement(
            version=1,
            published_at=published_at,
            created_by_id=b.admin.id,
            created_at=published_at - timedelta(days=3),
            **spec,
        )
        for spec in AGREEMENTS
    ]
    b.s.add_all(articles)
    b.s.add_all(agreements)
    b.s.flush()
    b.s.add_all(_first_version(a) for a in articles)  # every article's text is kept (A4.1)
    b.counts["education_articles"] = len(articles)
    b.counts["agreements"] = len(agreements)


def _first_version(a: EducationArticle) -> ArticleVersion:
    return ArticleVersion(
        article_id=a.id,
        version=1,
        title=a.title,
        summary=a.summary,
        body=a.body,
        category=a.category,
        device_types=list(a.device_types),
        keywords=list(a.keywords),
        stage=a.stage,
        note="初稿",
        created_by_id=a.author_id,
        created_at=a.created_at,
    )


def slots(b: Builder) -> None:
    """The clinic's weekly sessions (institutions.yaml) and the slots of the coming weeks
    generated from them, as the hourly job does, none booked yet."""
    clinic = INSTITUTIONS["clinic"]
    department = b.home_departments[clinic["department"]]
    sessions = [
        ClinicSession(
            institution_id=b.home.id,
            department_id=department.id,
            service=spec["service"],
            weekday=weekday,
            starts_at="{:02d}:{:02d}".format(*spec["start"]),
            ends_at="{:02d}:{:02d}".format(*spec["end"]),
            capacity=clinic["capacity"],
        )
        for weekday in clinic["weekdays"]
        for spec in clinic["sessions"]
    ]
    b.s.add_all(sessions)
    b.s.flush()
    first, last = b.today + timedelta(days=1), b.today + timedelta(days=clinic["days_ahead"])
    made = appointments.generate(b.s, b.tz, first, last, now=b.local(b.today, 0))
    b.counts["clinic_sessions"] = len(sessions)
    b.counts["appointment_slots"] = made
