"""Articles sent by themselves for the stage of a patient's device (P7.1): from the day after a
placement, the daily care of that device (else what to do after placement); after a removal,
what to watch. At most one article per patient per local day, never in the patient's quiet
hours (a later run sends it), each article once per patient (``article_deliveries`` is unique
on patient and article), each stage once per catheter.

Only recent events count (``PLACED_WITHIN``, ``REMOVED_WITHIN``): a line placed months ago
gets no "welcome home" article the day this feature is switched on. Patients without a bound
account are left out (nobody would read it).

Delivery: an in-app message (the H5 home page), and a WeChat news message through the outbox
to every followed account of the patient whose 48-hour customer-service window is open (it
wrote to us in the last 48 hours). When the window is closed, in-app only: a subscription or
template message is for reminders the patient asked for, not for education they did not.

Batch-safe: the candidates are read in one query; each patient's row is locked (``FOR
UPDATE``, in id order) before the day's delivery is checked and written, so two runs at once
never send a patient two articles in one day, and the unique key never one article twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from bot.models import (
    ArticleDelivery,
    Catheter,
    EducationArticle,
    InAppMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Removal,
)
from bot.models.enums import ArticleStage, CatheterState, Channel, PublishStatus

from .. import notify
from ..reminders import in_quiet_hours
from ..reminders.common import insert_into

PLACED_WITHIN = timedelta(days=30)
REMOVED_WITHIN = timedelta(days=14)
WINDOW = timedelta(hours=48)  # WeChat's customer-service window after the patient's message
KEY_PREFIX = "article:"
# what a catheter's moment gets: the stages in order of preference
IN_PLACE = (ArticleStage.DAILY_CARE, ArticleStage.AFTER_PLACEMENT)
REMOVED = (ArticleStage.AFTER_REMOVAL,)


@dataclass
class PushResult:
    sent: int = 0
    held: int = 0  # in quiet hours: a later run
    outbox_ids: list[int] = field(default_factory=list)  # enqueue after commit


@dataclass(frozen=True)
class _Due:
    patient_id: int
    catheter_id: int
    device_type: str
    stages: tuple[ArticleStage, ...]


def send_stage_articles(
    session: Session, now: datetime, tz: ZoneInfo, *, public_base_url: str
) -> PushResult:
    """Send the stage articles due at ``now``; the outbox ids in the result are to enqueue
    after commit."""
    local = now.astimezone(tz)
    today = local.date()
    result = PushResult()
    due = _due(session, today, tz)
    if not due:
        return result
    quiet = _quiet_patients(session, {d.patient_id for d in due}, local)
    by_patient: dict[int, list[_Due]] = defaultdict(list)
    for d in due:
        by_patient[d.patient_id].append(d)
    articles = _stage_articles(session)
    for patient_id in sorted(by_patient):
        if patient_id in quiet:
            result.held += 1
            continue
        _lock_patient(session, patient_id)
        if _sent_today(session, patient_id, today):
            continue
        received = set(
            session.scalars(
                select(ArticleDelivery.article_id).where(ArticleDelivery.patient_id == patient_id)
            )
        )
        for d in by_patient[patient_id]:  # removals first, then the newest placement
            article = _best(articles, d, received)
            if article is not None and _deliver(
                session, d, article, today, now, public_base_url, result
            ):
                result.sent += 1
                break
    return result


def _due(session: Session, today: date, tz: ZoneInfo) -> list[_Due]:
    """The catheters whose moment has come and whose patient got no article today: removals
    first, then placements (newest first)."""
    midnight = datetime.combine(today, time.min, tz)
    bound = exists().where(PatientProfile.patient_id == Catheter.patient_id)
    sent_today = exists().where(
        ArticleDelivery.patient_id == Catheter.patient_id, ArticleDelivery.sent_on == today
    )

    def had(stages: tuple[ArticleStage, ...]) -> Any:
        return exists().where(
            ArticleDelivery.catheter_id == Catheter.id,
            ArticleDelivery.stage.in_([s.value for s in stages]),
        )

    removed = session.execute(
        select(Catheter.patient_id, Catheter.id, Catheter.device_type)
        .join(Removal, Removal.catheter_id == Catheter.id)
        .where(
            Removal.removed_on <= today,
            Removal.removed_on >= today - REMOVED_WITHIN,
            bound,
            ~sent_today,
            ~had(REMOVED),
        )
        .order_by(Removal.removed_on.desc(), Catheter.id)
    ).all()
    placed = session.execute(
        select(Catheter.patient_id, Catheter.id, Catheter.device_type)
        .where(
            Catheter.state == CatheterState.IN_PLACE,
            Catheter.placed_at < midnight,  # placed yesterday or earlier
            Catheter.placed_at >= midnight - PLACED_WITHIN,
            bound,
            ~sent_today,
            ~had(IN_PLACE),
        )
        .order_by(Catheter.placed_at.desc(), Catheter.id)
    ).all()
    return [_Due(p, c, dev, REMOVED) for p, c, dev in removed] + [
        _Due(p, c, dev, IN_PLACE) for p, c, dev in placed
    ]


def _quiet_patients(session: Session, patient_ids: set[int], local: datetime) -> set[int]:
    rows = session.execute(
        select(Patient.id, Patient.quiet_start, Patient.quiet_end).where(
            Patient.id.in_(patient_ids)
        )
    )
    return {pid for pid, s, e in rows if in_quiet_hours(local, s, e) is not None}


def _stage_articles(session: Session) -> dict[str, list[EducationArticle]]:
    """The published articles of each stage, oldest first (the department's main text)."""
    rows = session.scalars(
        select(EducationArticle)
        .where(
            EducationArticle.status == PublishStatus.PUBLISHED,
            EducationArticle.stage.is_not(None),
        )
        .order_by(EducationArticle.published_at, EducationArticle.id)
    )
    out: dict[str, list[EducationArticle]] = defaultdict(list)
    for a in rows:
        out[str(a.stage)].append(a)
    return out


def _best(
    articles: dict[str, list[EducationArticle]], d: _Due, received: set[int]
) -> EducationArticle | None:
    """The first stage's article for the device (one for this device before one for every
    device) that the patient has not had; else the next stage's."""
    for stage in d.stages:
        fresh = [a for a in articles.get(stage.value, []) if a.id not in received]
        mine = [a for a in fresh if d.device_type in (a.device_types or [])]
        anyone = [a for a in fresh if not a.device_types]
        if mine or anyone:
            return (mine or anyone)[0]
    return None


def _lock_patient(session: Session, patient_id: int) -> None:
    """Serialise runs per patient (PostgreSQL; SQLite has one writer anyway)."""
    session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())


def _sent_today(session: Session, patient_id: int, today: date) -> bool:
    return (
        session.scalar(
            select(ArticleDelivery.id)
            .where(ArticleDelivery.patient_id == patient_id, ArticleDelivery.sent_on == today)
            .limit(1)
        )
        is not None
    )


def _deliver(
    session: Session,
    d: _Due,
    article: EducationArticle,
    today: date,
    now: datetime,
    base_url: str,
    result: PushResult,
) -> bool:
    """Record the delivery (unless a concurrent run did), then the in-app message and the
    WeChat messages; True when this run delivered it."""
    accounts = session.execute(
        select(PatientAccount.id, PatientAccount.openid)
        .join(PatientProfile, PatientProfile.account_id == PatientAccount.id)
        .where(
            PatientProfile.patient_id == d.patient_id,
            PatientAccount.subscribed.is_(True),
            PatientAccount.erased_at.is_(None),
            and_(
                PatientAccount.last_inbound_at.is_not(None),
                PatientAccount.last_inbound_at >= now - WINDOW,
            ),
        )
        .order_by(PatientAccount.id)
    ).all()
    table = ArticleDelivery.__table__
    written = session.execute(
        insert_into(session, table)
        .values(
            patient_id=d.patient_id,
            article_id=article.id,
            catheter_id=d.catheter_id,
            account_id=accounts[0].id if accounts else None,
            stage=str(article.stage),
            sent_on=today,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["patient_id", "article_id"])
        .returning(table.c.id)
    ).scalar()
    if written is None:
        return False
    url = f"{base_url}/h5/articles/{article.id}"
    description = article.summary or ""
    session.add(
        InAppMessage(
            patient_id=d.patient_id,
            kind="article",
            title=f"护理科普：{article.title}"[:80],
            body=description or "点击阅读",
            link=url,
            created_at=now,
        )
    )
    news = {
        "msgtype": "news",
        "news": {
            "articles": [
                {"title": article.title, "description": description, "url": url, "picurl": ""}
            ]
        },
    }
    for account_id, openid in accounts:
        key = f"{KEY_PREFIX}{d.patient_id}:{article.id}:{account_id}"
        result.outbox_ids.append(notify.payload(session, Channel.MP, openid, news, key=key))
    return True
