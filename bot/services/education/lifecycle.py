"""An article's life in the admin web (A4.1): written as a draft, submitted for review,
published by a second administrator, unpublished (下线, ``ARCHIVED``) and published again.

Every save writes a new ``ArticleVersion`` (never edited) with the administrator's note; the
article row carries the text of its latest version, and ``version`` is that version's number.
An article is one text at a time: saving changes to a published article takes it back to a
draft (off the patients' pages and the chat) until it is reviewed and published again — no
text reaches patients unreviewed. Restoring an old version saves its text as a new version.
The one who publishes must not be the one who saved the version being published (four eyes;
seeded and migrated versions have no author). An unpublished article was reviewed as it is, so
it may be published again at once. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import ArticleVersion, EducationArticle
from bot.models.enums import ArticleStage, PublishStatus

from .. import audit
from ..directory import DEVICE_LABELS

STATUS_LABELS = {
    PublishStatus.DRAFT: "草稿",
    PublishStatus.REVIEW: "待审核",
    PublishStatus.PUBLISHED: "已发布",
    PublishStatus.ARCHIVED: "已下线",
}
STAGE_LABELS: dict[str, str] = {
    ArticleStage.AFTER_PLACEMENT: "置管后",
    ArticleStage.DAILY_CARE: "日常护理",
    ArticleStage.BEFORE_MAINTENANCE: "维护前",
    ArticleStage.WARNING_SIGNS: "并发症预警",
    ArticleStage.AFTER_REMOVAL: "拔管后",
}
OBJECT = "education_article"


class LifecycleRefused(ValueError):
    """Why not, in Chinese (shown to the administrator as it is)."""


@dataclass(frozen=True)
class Draft:
    """What an administrator writes: the text and how it is filed."""

    title: str
    body: str
    summary: str | None = None
    category: str | None = None
    device_types: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    stage: str | None = None

    def problems(self) -> dict[str, str]:
        """Field → what is wrong, in Chinese; empty when the draft can be saved."""
        wrong: dict[str, str] = {}
        if not self.title.strip():
            wrong["title"] = "请填写标题"
        elif len(self.title) > 120:
            wrong["title"] = "标题最多120字"
        if not self.body.strip():
            wrong["body"] = "请填写正文"
        if self.summary and len(self.summary) > 255:
            wrong["summary"] = "摘要最多255字"
        if self.category and len(self.category) > 40:
            wrong["category"] = "分类最多40字"
        if any(d not in DEVICE_LABELS for d in self.device_types):
            wrong["device_types"] = "导管类型只能选 " + "、".join(DEVICE_LABELS.values())
        if self.stage and self.stage not in {s.value for s in ArticleStage}:
            wrong["stage"] = "请选择有效的阶段"
        if any(len(k) > 20 for k in self.keywords):
            wrong["keywords"] = "每个关键词最多20字"
        return wrong


def create(
    session: Session, draft: Draft, actor: audit.Actor, note: str | None = None
) -> EducationArticle:
    """A new draft article and its version 1."""
    _check(draft)
    article = EducationArticle(
        status=PublishStatus.DRAFT, author_id=actor.id, version=0, read_count=0, **_fields(draft)
    )
    session.add(article)
    session.flush()
    _new_version(session, article, draft, actor, note or "新建")
    audit.record(session, actor, "create", OBJECT, article.id, context="admin", detail=_d(article))
    return article


def save(
    session: Session, article_id: int, draft: Draft, actor: audit.Actor, note: str | None = None
) -> EducationArticle:
    """The changed text as a new version. A published (or unpublished) article goes back to
    a draft: it is off the patients' pages until published again."""
    _check(draft)
    article = _get(session, article_id)
    was = article.status
    for name, value in _fields(draft).items():
        setattr(article, name, value)
    if was is not PublishStatus.DRAFT:
        article.status = PublishStatus.DRAFT
        article.reviewed_by_id = None
    _new_version(session, article, draft, actor, note)
    audit.record(
        session, actor, "update", OBJECT, article.id, context="admin", detail=_d(article, was)
    )
    return article


def submit(session: Session, article_id: int, actor: audit.Actor) -> EducationArticle:
    """A draft (or an unpublished article) waits for review."""
    article = _get(session, article_id)
    if article.status not in (PublishStatus.DRAFT, PublishStatus.ARCHIVED):
        raise LifecycleRefused(f"文章当前为“{STATUS_LABELS[article.status]}”，不能提交审核。")
    was = article.status
    article.status = PublishStatus.REVIEW
    audit.record(
        session, actor, "submit", OBJECT, article.id, context="admin", detail=_d(article, was)
    )
    return article


def publish(
    session: Session, article_id: int, actor: audit.Actor, now: datetime
) -> EducationArticle:
    """An article waiting for review is published by another administrator than the one who
    saved its current version; an unpublished one is published again by anyone (its text was
    reviewed as it is)."""
    article = _get(session, article_id)
    was = article.status
    if was is PublishStatus.PUBLISHED:
        raise LifecycleRefused("文章已经发布。")
    if was is PublishStatus.DRAFT:
        raise LifecycleRefused("草稿须先提交审核，再由另一位管理员发布。")
    if was is PublishStatus.REVIEW:
        writer = session.scalar(
            select(ArticleVersion.created_by_id).where(
                ArticleVersion.article_id == article.id,
                ArticleVersion.version == article.version,
            )
        )
        if writer is not None and writer == actor.id:
            raise LifecycleRefused("不能发布自己保存的版本，请由另一位管理员审核发布。")
        article.reviewed_by_id = actor.id
    article.status = PublishStatus.PUBLISHED
    article.published_at = now
    audit.record(
        session, actor, "publish", OBJECT, article.id, context="admin", detail=_d(article, was)
    )
    return article


def unpublish(session: Session, article_id: int, actor: audit.Actor) -> EducationArticle:
    """下线: kept with its versions, hidden from patients' pages and the chat."""
    article = _get(session, article_id)
    if article.status is not PublishStatus.PUBLISHED:
        raise LifecycleRefused("只有已发布的文章可以下线。")
    article.status = PublishStatus.ARCHIVED
    audit.record(
        session,
        actor,
        "unpublish",
        OBJECT,
        article.id,
        context="admin",
        detail=_d(article, PublishStatus.PUBLISHED),
    )
    return article


def restore(
    session: Session, article_id: int, version: int, actor: audit.Actor
) -> EducationArticle:
    """The text of an old version saved again as the newest one (a draft)."""
    old = session.scalar(
        select(ArticleVersion).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )
    if old is None:
        raise LifecycleRefused(f"没有第{version}版。")
    draft = Draft(
        title=old.title,
        body=old.body,
        summary=old.summary,
        category=old.category,
        device_types=list(old.device_types or []),
        keywords=list(old.keywords or []),
        stage=old.stage,
    )
    return save(session, article_id, draft, actor, note=f"恢复第{version}版")


def versions(session: Session, article_id: int) -> list[ArticleVersion]:
    """Every saved text of the article, newest first."""
    return list(
        session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.version.desc())
        )
    )


def _check(draft: Draft) -> None:
    wrong = draft.problems()
    if wrong:
        raise LifecycleRefused("；".join(wrong.values()))


def _get(session: Session, article_id: int) -> EducationArticle:
    article = session.get(EducationArticle, article_id, with_for_update=True)
    if article is None:
        raise LifecycleRefused("文章不存在。")
    return article


def _fields(draft: Draft) -> dict[str, object]:
    return {
        "title": draft.title.strip(),
        "summary": (draft.summary or "").strip() or None,
        "body": draft.body,
        "category": (draft.category or "").strip() or None,
        "device_types": list(dict.fromkeys(draft.device_types)),
        "keywords": list(dict.fromkeys(k.strip() for k in draft.keywords if k.strip())),
        "stage": draft.stage or None,
    }


def _new_version(
    session: Session, article: EducationArticle, draft: Draft, actor: audit.Actor, note: str | None
) -> None:
    latest = session.scalar(
        select(func.max(ArticleVersion.version)).where(ArticleVersion.article_id == article.id)
    )
    article.version = (latest or 0) + 1
    fields = _fields(draft)
    session.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            note=(note or "").strip()[:255] or None,
            created_by_id=actor.id,
            **fields,
        )
    )
    session.flush()


def _d(article: EducationArticle, was: PublishStatus | None = None) -> dict[str, object]:
    detail: dict[str, object] = {"version": article.version, "status": article.status.value}
    if was is not None and was is not article.status:
        detail["was"] = was.value
    return detail
