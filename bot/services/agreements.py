"""The service agreement and privacy policy as versioned Markdown (A5.1).

A version is a draft until it is published; a published version is never edited, and the
latest published one of each kind is in force (``binding.current_agreements``): publishing a
new version makes every patient accept it again before the next use. A draft's number is fixed
when it is created (the next after the highest of its kind) and there is at most one draft per
kind, so numbers never collide and never skip. Acceptances are kept with their time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session, attributes

from bot.models import Agreement, AgreementAcceptance, PatientAccount, utcnow
from bot.models.enums import AgreementKind
from bot.security.masking import mask_name

from . import audit

KIND_LABELS = {AgreementKind.SERVICE: "服务协议", AgreementKind.PRIVACY: "隐私政策"}
TITLE_MAX, NOTE_MAX = 80, 255


class AgreementRefused(Exception):
    """The change cannot be made; the message says why, in Chinese."""


class PublishedAgreementIsFrozen(Exception):
    """Something tried to change a published version's words (a bug: refused at flush)."""


@dataclass(frozen=True)
class Acceptance:
    account_id: int
    who: str  # masked nickname or openid
    kind: AgreementKind
    version: int
    accepted_at: datetime


def versions(session: Session, kind: AgreementKind) -> list[Agreement]:
    """Every version of ``kind``, newest first (the draft, if any, on top)."""
    return list(
        session.scalars(
            select(Agreement).where(Agreement.kind == kind).order_by(Agreement.version.desc())
        )
    )


def get(session: Session, agreement_id: int) -> Agreement:
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise AgreementRefused("没有这个版本。")
    return agreement


def new_draft(session: Session, kind: AgreementKind, actor: audit.Actor) -> Agreement:
    """The kind's draft: the existing one, else a new one prefilled from the latest version."""
    existing = session.scalar(
        select(Agreement).where(Agreement.kind == kind, Agreement.published_at.is_(None))
    )
    if existing is not None:
        return existing
    latest = session.scalar(
        select(Agreement).where(Agreement.kind == kind).order_by(Agreement.version.desc())
    )
    draft = Agreement(
        kind=kind,
        version=(latest.version + 1) if latest else 1,
        title=latest.title if latest else KIND_LABELS[kind],
        body=latest.body if latest else "",
        created_by_id=actor.id,
    )
    session.add(draft)
    session.flush()
    audit.record(session, actor, "create", "agreement", draft.id, detail={"version": draft.version})
    return draft


def save_draft(
    session: Session, agreement_id: int, title: str, body: str, note: str, actor: audit.Actor
) -> Agreement:
    """Change a draft's title, Markdown body and note; a published version is refused."""
    draft = _draft(session, agreement_id)
    title, note = title.strip(), note.strip()
    if not title:
        raise AgreementRefused("请填写标题。")
    if len(title) > TITLE_MAX:
        raise AgreementRefused(f"标题不能超过{TITLE_MAX}个字。")
    if len(note) > NOTE_MAX:
        raise AgreementRefused(f"修改说明不能超过{NOTE_MAX}个字。")
    changed = [
        name
        for name, old, new in (
            ("title", draft.title, title),
            ("body", draft.body, body),
            ("note", draft.note or "", note),
        )
        if old != new
    ]
    draft.title, draft.body, draft.note = title, body, note or None
    if changed:
        audit.record(session, actor, "update", "agreement", draft.id, detail={"fields": changed})
    return draft


def publish(session: Session, agreement_id: int, actor: audit.Actor) -> Agreement:
    """Put a draft in force: from now on every patient must accept it before the next use."""
    draft = _draft(session, agreement_id)
    if not draft.body.strip():
        raise AgreementRefused("正文为空，不能发布。")
    draft.published_at = utcnow()
    audit.record(
        session,
        actor,
        "publish",
        "agreement",
        draft.id,
        detail={"kind": draft.kind.value, "version": draft.version},
    )
    return draft


def discard_draft(session: Session, agreement_id: int, actor: audit.Actor) -> None:
    draft = _draft(session, agreement_id)
    audit.record(session, actor, "delete", "agreement", draft.id, detail={"version": draft.version})
    session.delete(draft)


def _draft(session: Session, agreement_id: int) -> Agreement:
    agreement = get(session, agreement_id)
    if agreement.published_at is not None:
        raise AgreementRefused(f"第{agreement.version}版已发布，已发布的版本不能修改，请新建版本。")
    return agreement


def acceptance_counts(session: Session) -> dict[int, int]:
    """How many accounts accepted each version (agreement id → count)."""
    rows = session.execute(
        select(AgreementAcceptance.agreement_id, func.count()).group_by(
            AgreementAcceptance.agreement_id
        )
    )
    return {agreement_id: count for agreement_id, count in rows}


def acceptances(
    session: Session, actor: audit.Actor, account: str = "", *, limit: int = 200
) -> list[Acceptance]:
    """Who accepted which version when, newest first; ``account`` narrows it to an account id,
    or an openid or nickname containing it. The list is a read of personal data: audited."""
    query = (
        select(AgreementAcceptance, Agreement, PatientAccount)
        .join(Agreement, Agreement.id == AgreementAcceptance.agreement_id)
        .join(PatientAccount, PatientAccount.id == AgreementAcceptance.account_id)
        .order_by(AgreementAcceptance.accepted_at.desc(), AgreementAcceptance.id.desc())
        .limit(limit)
    )
    account = account.strip()
    if account:
        like = f"%{account}%"
        by_text = or_(PatientAccount.openid.like(like), PatientAccount.nickname.like(like))
        query = query.where(
            or_(PatientAccount.id == int(account), by_text)
            if account.isdigit() and len(account) <= 9  # an id, not an overflow
            else by_text
        )
    audit.record(session, actor, "read", "agreement_acceptances", None, detail={"account": account})
    return [
        Acceptance(a.account_id, masked_account(p), g.kind, g.version, a.accepted_at)
        for a, g, p in session.execute(query)
    ]


def masked_account(account: PatientAccount) -> str:
    """A nickname or openid as staff may see it: the first and last characters only."""
    if account.nickname:
        return mask_name(account.nickname)
    openid = account.openid
    return openid[:4] + "…" + openid[-3:] if len(openid) > 8 else openid


@event.listens_for(Agreement, "before_update")
def _refuse_edits_of_published(_mapper: Any, conn: Any, target: Agreement) -> None:
    """Whatever code path writes it, a version patients may have accepted keeps its words.
    Whether it was published is read from the row itself: the object's history is empty when
    the attribute was expired (after a commit) and set without being loaded first."""
    stored = conn.scalar(
        select(Agreement.__table__.c.published_at).where(Agreement.__table__.c.id == target.id)
    )
    if stored is None:
        return  # a draft, or the draft being published now
    for name in ("kind", "version", "title", "body", "note", "published_at"):
        if attributes.get_history(target, name).has_changes():
            raise PublishedAgreementIsFrozen(f"agreement {target.id} is published: {name} frozen")
