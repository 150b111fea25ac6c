"""The consultation's WeChat Work group chat (``appchat``): created once under a chatid derived
from the consultation (so a retry after a lost answer finds the chat it made instead of
making a second), the case posted into it — the case card first, then every photo, voice
note, video and file, then the notes — each as an outbox row with a stable key, members
added later, and failures told to the requester and the administrators.

``bot.jobs.consultations.open_consultation`` runs these steps; each one may be repeated.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.adapters.wechat import Senders, WeChatError
from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Consultation,
    ConsultationMedia,
    ConsultationMember,
    ConsultationNote,
    OutboxMessage,
    Patient,
    Staff,
)
from bot.models.enums import (
    Channel,
    ConsultationStatus,
    DeliveryStatus,
    Sex,
    StaffRole,
)
from bot.security.masking import initials

from .. import notify
from . import facts
from .requests import KIND_WORDS

log = logging.getLogger(__name__)

NAME_MAX = 50  # characters: WeChat Work cuts longer group names
CARD_TITLE_BYTES, CARD_TEXT_BYTES = 128, 512  # textcard limits (UTF-8 bytes)
QUESTION_BYTES = 240  # of the card's 512: the question, however long the facts above it
# how many times the job tries a chat call that may work later before reporting it failed:
# the first run and RQ's retries (bot.jobs.queues.CONSULTATION_RETRY)
MAX_CHAT_ATTEMPTS = 9
ROLE_ORDER = {"consultant": 0, "requester": 1, "member": 2}

# what a permanent failure means, in words for the requester and the administrators
REASONS = {
    60011: "企业微信应用的可见范围不是全公司（根部门），应用无权建群。"
    "请管理员在企业微信管理后台把本应用的可见范围设为根部门后，在会诊页面点「重试建群」",
    86216: "有成员不在企业通讯录中或不在应用的可见范围内，无法拉入群聊。"
    "请管理员核对成员的企业微信账号后点「重试建群」",
    40003: "有成员的企业微信账号无效。请管理员核对成员的企业微信账号后点「重试建群」",
    81013: "有成员不在应用的可见范围内。请管理员调整应用可见范围后点「重试建群」",
    86007: "能拉入群聊的成员不足2人（企业微信群至少2人）",
    86005: "群主不在成员之中",
    86001: "群聊编号不合法",
}


class ChatFailed(Exception):
    """The group chat cannot be made as things stand; ``reason`` says why, in Chinese."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # one notice per consultation and code


def chat_id_for(consultation_id: int, secret: str) -> str:
    """The chatid the consultation's group chat is created with: ``vac<id>x<keyed suffix>``,
    at most 32 characters of [0-9a-zA-Z], the same on every attempt, not guessable."""
    mac = hmac.new(secret.encode(), f"consultation-chat:{consultation_id}".encode(), "sha256")
    return f"vac{consultation_id}x{mac.hexdigest()[:12]}"[:32]


def device_label(d: Dictionary, catheter: Catheter | None) -> str:
    return d.label("device_types", catheter.device_type) if catheter else "导管"


def chat_name(session: Session, d: Dictionary, consultation: Consultation) -> str:
    """会诊·{patient initials}·{device}·{case number}, at most 50 characters."""
    patient = session.get(Patient, consultation.patient_id)
    catheter = session.get(Catheter, consultation.catheter_id) if consultation.catheter_id else None
    who = initials(patient.name if patient else None) or "患者"
    return f"会诊·{who}·{device_label(d, catheter)}·{consultation.id}号"[:NAME_MAX]


def people(session: Session, consultation: Consultation) -> list[tuple[ConsultationMember, Staff]]:
    """Members with their staff rows: consultants first (the first is the chat's owner),
    then the requester, then members added later, each in the order they were added."""
    rows = session.execute(
        select(ConsultationMember, Staff)
        .join(Staff, Staff.id == ConsultationMember.staff_id)
        .where(ConsultationMember.consultation_id == consultation.id)
        .order_by(ConsultationMember.id)
    ).all()
    pairs = [(m, s) for m, s in rows]
    return sorted(pairs, key=lambda p: ROLE_ORDER.get(p[0].role, 3))


def _reachable(staff: Staff) -> bool:
    return staff.active and bool(staff.wecom_userid)


def ensure_chat(
    session: Session, d: Dictionary, consultation: Consultation, senders: Senders, *, secret: str
) -> list[Staff]:
    """Create the group chat unless the consultation has one: the members' WeChat Work
    userids, the first reachable consultant as owner. A chatid already taken (86215: our own
    create whose answer was lost) is checked with ``appchat/get`` and adopted. Returns the
    members left out for want of a userid. Raises ``WeChatError`` (the API) or ``ChatFailed``
    (fewer than two members, no consultant reachable)."""
    pairs = people(session, consultation)
    left_out = [s for _, s in pairs if not _reachable(s)]
    if consultation.chat_id:
        return left_out
    inside = [(m, s) for m, s in pairs if _reachable(s)]
    owner = next((s for m, s in inside if m.role == "consultant"), None)
    if owner is None:
        raise ChatFailed("会诊专家都没有可用的企业微信账号，无法建群", "no_consultant")
    userids = list(dict.fromkeys(str(s.wecom_userid) for _, s in inside))
    if len(userids) < 2:
        raise ChatFailed(REASONS[86007], "too_few")
    chat_id = chat_id_for(consultation.id, secret)
    name = chat_name(session, d, consultation)
    try:
        senders.create_chat(name, str(owner.wecom_userid), userids, chat_id)
        in_chat = set(userids)
    except WeChatError as exc:
        if exc.errcode != 86215:
            raise
        info = senders.get_chat(chat_id)
        if info is None:  # taken, yet not ours to see: never post the case into it
            raise ChatFailed("群聊编号已被占用且无法读取", "chat_taken") from exc
        log.info(
            "consultation %s: chat %s existed (a lost answer); adopted", consultation.id, chat_id
        )
        name = str(info.get("name") or name)
        in_chat = {str(u) for u in info.get("userlist") or []}
    consultation.chat_id, consultation.chat_name = chat_id, name
    for member, staff in pairs:
        member.in_chat = bool(staff.wecom_userid) and staff.wecom_userid in in_chat
    session.flush()
    return left_out


# why a member could not be brought into the chat (``appchat/update``), in words
MEMBER_REASONS = {
    86216: "不在企业通讯录中或不在应用的可见范围内",
    81013: "不在应用的可见范围内",
    40003: "企业微信账号无效",
    45009: "企业微信接口调用次数已达上限，多次重试仍未成功",
}


def not_added_key(consultation: Consultation, staff: Staff) -> str:
    return f"consultation:{consultation.id}:not-added:{staff.id}"


def _refused_before(session: Session, consultation: Consultation) -> set[str]:
    return set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.like(f"consultation:{consultation.id}:not-added:%")
            )
        )
    )


def waiting_members(session: Session, consultation: Consultation) -> list[tuple[Any, Staff]]:
    """Members added after the chat was made, reachable, not refused by WeChat Work before."""
    refused = _refused_before(session, consultation)
    return [
        (m, s)
        for m, s in people(session, consultation)
        if not m.in_chat and _reachable(s) and not_added_key(consultation, s) not in refused
    ]


def add_new_members(session: Session, consultation: Consultation, senders: Senders) -> list[int]:
    """Members added after the chat was made (``add_member``) join it (``appchat/update``).
    A member WeChat Work refuses for good (86216, 81013, 40003…) stays out (``in_chat``
    False) and whoever invited them, and the requester, are told once; the others join. The
    outbox ids of those notices. A retryable error is raised (``WeChatError``)."""
    if not consultation.chat_id:
        return []
    waiting = waiting_members(session, consultation)
    if not waiting:
        return []
    add = list(dict.fromkeys(str(s.wecom_userid) for _, s in waiting))
    try:
        senders.update_chat(consultation.chat_id, add=add)
        joined = waiting
        refused: list[tuple[Staff, WeChatError]] = []
    except WeChatError as exc:
        if exc.retryable:
            raise
        # one at a time: who is refused stays out, the others join
        joined, refused = [], []
        for member, staff in waiting:
            try:
                senders.update_chat(consultation.chat_id, add=[str(staff.wecom_userid)])
                joined.append((member, staff))
            except WeChatError as one:
                if one.retryable:
                    raise
                refused.append((staff, one))
    for member, _ in joined:
        member.in_chat = True
    ids = [i for staff, exc in refused for i in notify_not_added(session, consultation, staff, exc)]
    session.flush()
    return ids


def give_up_members(session: Session, consultation: Consultation, exc: WeChatError) -> list[int]:
    """After the last retry of a WeChat error that may pass, the members still waiting stay
    out and the requester and their inviters are told once."""
    ids = []
    for _, staff in waiting_members(session, consultation):
        ids += notify_not_added(session, consultation, staff, exc)
    session.flush()
    return ids


def _inviter(session: Session, consultation: Consultation, staff: Staff) -> Staff | None:
    from bot.models import AuditLog

    rows = session.scalars(
        select(AuditLog).where(
            AuditLog.action == "add_member",
            AuditLog.object_type == "consultation",
            AuditLog.object_id == str(consultation.id),
        )
    ).all()
    for row in rows:
        if (row.detail or {}).get("staff_id") == staff.id and row.actor_id is not None:
            return session.get(Staff, row.actor_id)
    return None


def notify_not_added(
    session: Session, consultation: Consultation, staff: Staff, exc: WeChatError
) -> list[int]:
    """The requester and whoever invited ``staff`` hear, once, that WeChat Work would not
    bring them into the group. The row's key also marks the member as not to be tried again
    (until an administrator's retry)."""
    words = MEMBER_REASONS.get(exc.errcode or 0, "企业微信拒绝将其加入群聊")
    log.warning(
        "consultation %s: staff %s not added to the chat: %s", consultation.id, staff.id, exc
    )
    text = (
        f"会诊（{consultation.id}号：{consultation.title}）：{staff.name}未能拉入会诊群"
        f"（{words}）。会诊群其他成员照常讨论；可以电话联系{staff.name}，"
        "或请管理员核对其企业微信账号后再邀请。"
    )
    requester = session.get(Staff, consultation.requested_by_id)
    told: list[Staff] = []
    for person in (requester, _inviter(session, consultation, staff)):
        if person is not None and _reachable(person) and person not in told:
            told.append(person)
    ids = []
    for i, person in enumerate(told):
        key = not_added_key(consultation, staff) + ("" if i == 0 else f":{person.id}")
        ids.append(notify.text(session, Channel.WORK, str(person.wecom_userid), text, key=key))
    if not told:  # nobody to tell: the mark alone, never sent
        row = OutboxMessage(
            dedupe_key=not_added_key(consultation, staff),
            channel=Channel.WORK,
            recipient="none",
            msg_type="text",
            payload={"msgtype": "text", "text": {"content": text}},
            status=DeliveryStatus.FAILED,
            last_error="no recipient",
        )
        session.add(row)
    return ids


# --- what is posted ----------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One message for the group chat: the case card, a media or a note."""

    key: str
    body: dict[str, Any]
    media: ConsultationMedia | None = None
    note: ConsultationNote | None = None


def card_key(consultation: Consultation) -> str:
    return f"consultation:{consultation.id}:card"


def media_key(media: ConsultationMedia) -> str:
    return f"consultation:{media.consultation_id}:media:{media.id}"


def note_key(note: ConsultationNote) -> str:
    return f"consultation:{note.consultation_id}:note:{note.id}"


def case_url(base_url: str, consultation: Consultation) -> str:
    return f"{base_url}/staff/consultations/{consultation.id}"


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, an ellipsis where it was cut."""
    if len(text.encode()) <= limit:
        return text
    if limit < 3:
        return ""
    while text and len(text.encode()) > limit - 3:
        text = text[:-1]
    return text + "…"


def masked(text: str, name: str | None) -> str:
    """``text`` with the patient's full name (and a given name of two characters or more) as
    initials: the group chat never sees the full name."""
    if not name or not text:
        return text
    short = initials(name)
    text = text.replace(name, short)
    given = name[1:]
    if len(given) >= 2 and not name.isascii():
        text = text.replace(given, "*" * len(given))
    return text


def case_card(
    session: Session,
    d: Dictionary,
    consultation: Consultation,
    *,
    base_url: str,
    tz: ZoneInfo,
    today: date,
) -> dict[str, Any]:
    """The textcard that opens the group: masked patient basics, device and placement, last
    maintenance, open complications, the question and urgency; the link to the case page."""
    patient = session.get(Patient, consultation.patient_id)
    catheter = facts.catheter_of(session, consultation)
    requester = session.get(Staff, consultation.requested_by_id)
    basics = [initials(patient.name) if patient else "患者"]
    if patient is not None and patient.sex is not Sex.UNKNOWN:
        basics.append(facts.SEX_LABELS[patient.sex])
    age = facts.age(patient.birth_date if patient else None, today)
    if age is not None:
        basics.append(f"{age}岁")
    lines = [f"患者：{'，'.join(basics)}"]
    if catheter is not None:
        where = facts.placed_where(session, catheter)
        placed = f"{rules.local_date(catheter.placed_at, tz):%Y-%m-%d}" + (
            f"（{where}）" if where else ""
        )
        lines.append(f"导管：{device_label(d, catheter)}，置管{placed}")
        last = facts.last_maintenance(session, catheter.id)
        done = "无记录"
        if last is not None:
            where = facts.institution_name(session, last.institution_id)
            done = f"{rules.local_date(last.performed_at, tz):%Y-%m-%d}" + (
                f"（{where}）" if where else ""
            )
        lines.append(f"最近维护：{done}")
    found = facts.open_complications(session, d, consultation.patient_id)
    lines.append(f"未结案并发症：{'、'.join(c.label for c in found) or '无'}")
    if requester is not None:
        place = facts.institution_name(session, requester.institution_id)
        lines.append(f"申请人：{requester.name}（{place}）")
    urgency = "加急" if consultation.urgent else "普通"
    head = "\n".join(lines) + f"\n紧急程度：{urgency}\n会诊问题："
    # the question keeps room of its own; the whole is cut to the card's limit
    name = patient.name if patient else None
    question = _cut(masked(consultation.summary or consultation.title, name), QUESTION_BYTES)
    title = ("【加急会诊】" if consultation.urgent else "【会诊】") + masked(
        consultation.title, name
    )
    return {
        "msgtype": "textcard",
        "textcard": {
            "title": _cut(title, CARD_TITLE_BYTES),
            "description": _cut(head + question, CARD_TEXT_BYTES),
            "url": case_url(base_url, consultation),
            "btntxt": "病例详情",
        },
    }


def is_amr(media: ConsultationMedia) -> bool:
    content_type = (media.content_type or "").split(";")[0].strip().lower()
    return content_type == "audio/amr" or media.path.lower().endswith(".amr")


def posted_kind(media: ConsultationMedia) -> str:
    """How the media goes to the group: WeChat Work takes voice uploads in AMR only, so a
    SPEEX voice note is sent as a file."""
    if media.kind == "voice" and not is_amr(media):
        return "file"
    return media.kind


def kind_words(media: ConsultationMedia) -> str:
    if media.kind == "voice" and not is_amr(media):
        return "语音（SPEEX格式，以文件发送）"
    return KIND_WORDS.get(media.kind, "文件")


def media_body(media: ConsultationMedia, media_root: Path) -> dict[str, Any]:
    """The outbox body of one media: its file by path, uploaded when it is sent."""
    path = str(media_root / media.path)
    kind = posted_kind(media)
    if kind == "video":
        return {"msgtype": "video", "video": {"path": path, "title": "会诊视频"}}
    return {"msgtype": kind, kind: {"path": path}}


def notify_media_failed(
    session: Session, consultation: Consultation, media: ConsultationMedia, *, base_url: str
) -> list[int]:
    """The requester hears, once per media, that one could not be posted to the group."""
    requester = session.get(Staff, consultation.requested_by_id)
    if requester is None or not _reachable(requester):
        return []
    text = (
        f"会诊（{consultation.id}号：{consultation.title}）：您发送的一份{kind_words(media)}"
        "未能转发到会诊群。资料已保存，会诊专家可在病例页查看。\n"
        f"{case_url(base_url, consultation)}"
    )
    key = f"consultation:{consultation.id}:media-failed:{media.id}"
    return [notify.text(session, Channel.WORK, str(requester.wecom_userid), text, key=key)]


def note_body(session: Session, note: ConsultationNote) -> dict[str, Any]:
    who = session.scalar(select(Staff.name).where(Staff.id == note.staff_id)) or ""
    head = "【会诊结论】" if note.kind == "conclusion" else "【会诊意见】"
    name = session.scalar(
        select(Patient.name)
        .join(Consultation, Consultation.patient_id == Patient.id)
        .where(Consultation.id == note.consultation_id)
    )
    return {"msgtype": "text", "text": {"content": f"{head}{who}：\n{masked(note.text, name)}"}}


def posts(
    session: Session,
    d: Dictionary,
    consultation: Consultation,
    *,
    base_url: str,
    tz: ZoneInfo,
    today: date,
    media_root: Path,
) -> list[Post]:
    """What the group chat has not had yet, in the order it is posted: the card (until it was
    delivered or failed for good), the media by arrival, the notes by time."""
    done = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.like(f"consultation:{consultation.id}:%"),
                OutboxMessage.status != DeliveryStatus.PENDING,
            )
        )
    )
    _reconcile(session, consultation)
    out = []
    if card_key(consultation) not in done:
        body = case_card(session, d, consultation, base_url=base_url, tz=tz, today=today)
        out.append(Post(card_key(consultation), body))
    for media in consultation.media:
        if media.posted_at is None and media_key(media) not in done:
            out.append(Post(media_key(media), media_body(media, media_root), media=media))
    for note in consultation.notes:
        if note.posted_at is None and note_key(note) not in done:
            out.append(Post(note_key(note), note_body(session, note), note=note))
    return out


def _reconcile(session: Session, consultation: Consultation) -> None:
    """Media and notes whose row was delivered by the outbox worker (a note is queued by
    ``record_note`` itself) are marked posted when it was sent."""
    rows = session.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.sent_at).where(
            OutboxMessage.dedupe_key.like(f"consultation:{consultation.id}:%"),
            OutboxMessage.status == DeliveryStatus.SENT,
        )
    ).all()
    sent: dict[str, datetime | None] = {key: at for key, at in rows}
    for media in consultation.media:
        if media.posted_at is None and sent.get(media_key(media)):
            media.posted_at = sent[media_key(media)]
    for note in consultation.notes:
        if note.posted_at is None and sent.get(note_key(note)):
            note.posted_at = sent[note_key(note)]


def to_chat(session: Session, chat_id: str, body: dict[str, Any], *, key: str) -> int:
    """An outbox row for the group chat (``chat:<chatid>``); the existing one for its key."""
    existing = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return existing
    row = OutboxMessage(
        dedupe_key=key,
        channel=Channel.WORK,
        recipient=f"chat:{chat_id}",
        msg_type=str(body.get("msgtype", "text")),
        payload=body,
    )
    session.add(row)
    session.flush()
    return row.id


def mark_posted(session: Session, post: Post, at: datetime) -> None:
    if post.media is not None:
        session.get(ConsultationMedia, post.media.id).posted_at = at  # type: ignore[union-attr]
    if post.note is not None:
        session.get(ConsultationNote, post.note.id).posted_at = at  # type: ignore[union-attr]


# --- people told -------------------------------------------------------------------------


def notify_opened(session: Session, consultation: Consultation, *, base_url: str) -> list[int]:
    """The requester and the consultants are told in the app that the group is open: a
    textcard with the case page's link. Once each."""
    name = consultation.chat_name or "会诊群"
    ids = []
    for member, staff in people(session, consultation):
        if member.role not in ("requester", "consultant") or not _reachable(staff):
            continue
        asked = member.role == "consultant"
        text = f"已建立会诊群「{name}」，请在企业微信消息列表中打开。" + (
            "您被邀请为会诊专家，结论可在群内讨论后在病例页填写。" if asked else ""
        )
        body = {
            "msgtype": "textcard",
            "textcard": {
                "title": _cut(f"会诊群已建立：{consultation.title}", CARD_TITLE_BYTES),
                "description": _cut(text, CARD_TEXT_BYTES),
                "url": case_url(base_url, consultation),
                "btntxt": "查看病例",
            },
        }
        key = f"consultation:{consultation.id}:opened:{staff.id}"
        ids.append(notify.payload(session, Channel.WORK, str(staff.wecom_userid), body, key=key))
    return ids


def notify_left_out(
    session: Session, consultation: Consultation, left_out: list[Staff]
) -> list[int]:
    """The requester hears who could not be brought into the group (no WeChat Work account)."""
    requester = session.get(Staff, consultation.requested_by_id)
    if not left_out or requester is None or not _reachable(requester):
        return []
    names = "、".join(s.name for s in left_out)
    text = (
        f"会诊（{consultation.id}号）：{names}没有可用的企业微信账号，未能拉入会诊群，"
        "可以电话联系，或请管理员补充其企业微信账号后再邀请。"
    )
    key = f"consultation:{consultation.id}:left-out:{'-'.join(str(s.id) for s in left_out)}"
    return [notify.text(session, Channel.WORK, str(requester.wecom_userid), text, key=key)]


def admins(session: Session) -> list[Staff]:
    return list(
        session.scalars(
            select(Staff)
            .where(
                Staff.role == StaffRole.ADMIN,
                Staff.active.is_(True),
                Staff.wecom_userid.is_not(None),
            )
            .order_by(Staff.id)
        )
    )


def report_failure(
    session: Session, consultation: Consultation, failure: ChatFailed, *, base_url: str
) -> list[int]:
    """Record the failure on the consultation (it stays REQUESTED) and tell the requester and
    the administrators why: one notice each per consultation and reason."""
    consultation.chat_error = _cut(failure.reason, 255 * 3)[:255]
    requester = session.get(Staff, consultation.requested_by_id)
    ids = []
    if requester is not None and _reachable(requester):
        text = (
            f"您的会诊申请（{consultation.id}号：{consultation.title}）已记录，"
            f"但会诊群暂未能建立：{failure.reason}。已通知管理员处理；"
            f"紧急情况请直接电话联系静脉治疗专科。\n{case_url(base_url, consultation)}"
        )
        key = f"consultation:{consultation.id}:failed:{failure.code}:{requester.id}"
        ids.append(notify.text(session, Channel.WORK, str(requester.wecom_userid), text, key=key))
    for admin in admins(session):
        text = (
            f"【会诊建群失败】会诊{consultation.id}号（{consultation.title}）："
            f"{failure.reason}。处理后请打开会诊页面点「重试建群」：\n"
            f"{case_url(base_url, consultation)}"
        )
        key = f"consultation:{consultation.id}:failed:{failure.code}:{admin.id}"
        if admin.id != (requester.id if requester else None):
            ids.append(notify.text(session, Channel.WORK, str(admin.wecom_userid), text, key=key))
    return ids


# a WeChat error's reason code, in words (the raw errmsg and code stay in the logs)
REASON_WORDS = {
    "network": "网络连接失败",
    "system_busy": "企业微信系统繁忙",
    "rate_limited": "接口调用过于频繁",
    "daily_quota_exhausted": "接口调用次数已达上限",
    "token_invalid": "接口凭证失效",
    "token_expired": "接口凭证过期",
}


def reason_words(exc: WeChatError) -> str:
    """Why a WeChat call failed, in Chinese, for people (never WeChat's English errmsg)."""
    return REASON_WORDS.get(exc.reason, "企业微信接口错误")


def failure_of(exc: WeChatError, attempts: int) -> ChatFailed | None:
    """A WeChat error as a failure to report (permanent, or retried ``MAX_CHAT_ATTEMPTS``
    times), None while it is worth retrying."""
    if exc.retryable and attempts < MAX_CHAT_ATTEMPTS:
        return None
    log.warning("WeChat error after %s attempts: %s", attempts, exc)
    if exc.retryable:
        return ChatFailed(
            f"企业微信接口暂时不可用，已重试{attempts}次仍未成功（{reason_words(exc)}）",
            "exhausted",
        )
    words = REASONS.get(exc.errcode or 0) or "企业微信拒绝了建群请求，请管理员查看系统日志"
    return ChatFailed(f"{words}（错误码{exc.errcode}）", str(exc.errcode or exc.reason))


def _rekey(session: Session, key: str) -> None:
    """A row that failed for good is renamed (``:failed<n>``), so the next run writes and
    sends its message again under the original key."""
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == key, OutboxMessage.status == DeliveryStatus.FAILED
        )
    )
    if row is None:
        return
    n = session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like(f"{key}:failed%"))
    )
    row.dedupe_key = f"{key}:failed{(n or 0) + 1}"


def retry(session: Session, consultation: Consultation) -> bool:
    """An administrator's "重试建群": the attempts count starts again, the error is cleared,
    and the card and media that failed for good (and members WeChat Work refused) are tried
    again. True when there is something to retry (the caller commits, then enqueues
    ``enqueue_consultation``): any consultation not closed that has no chat yet, or whose
    card or media failed. A closed one: False."""
    if consultation.status is ConsultationStatus.CLOSED:
        return False
    failed = list(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.like(f"consultation:{consultation.id}:%"),
                OutboxMessage.status == DeliveryStatus.FAILED,
            )
        )
    )
    ours = {card_key(consultation)} | {media_key(m) for m in consultation.media}
    again = [k for k in failed if k in ours]
    # members WeChat Work refused are tried again: their notice's key is the mark
    refused = [k for k in _refused_before(session, consultation) if ":failed" not in k]
    for key in refused:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
        if row is not None:
            row.dedupe_key = f"{key}:failed{row.id}"
    again += refused
    if (
        consultation.chat_id
        and not again
        and consultation.status is not (ConsultationStatus.REQUESTED)
    ):
        return False
    for key in again:
        if key not in refused:
            _rekey(session, key)
    consultation.chat_attempts = 0
    consultation.chat_error = None
    session.flush()
    return True
