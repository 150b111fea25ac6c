"""Everything the simulator remembers, in memory and thread-safe.

One :class:`SimState` per simulator app. Tests drive it directly (``state.user_message``,
``state.add_fault``, ``state.messages`` …) or through the ``/_sim/*`` endpoints, which are
thin wrappers over the same methods. Time comes from an injectable clock (plus an offset that
``advance_clock`` moves), so the 48-hour window, token expiry and media lifetime are testable.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .config import SimConfig

CHANNELS = ("mp", "work")

TOKEN_TTL = 7200  # seconds, both platforms
TOKEN_DAILY_LIMIT = 2000  # access-token fetches a day (45009 beyond)
MEDIA_TTL = 3 * 86400  # temporary media live three days
MP_MESSAGE_WINDOW = 48 * 3600  # customer-service window after a user message …
MP_MESSAGE_ALLOWANCE = 5  # … and how many messages it allows
MP_EVENT_WINDOW = 60  # a menu click / scan / follow opens a smaller window …
MP_EVENT_ALLOWANCE = 3  # … of three messages within a minute
WORK_PER_MINUTE = 30  # WeChat Work: per app and member, excess dropped silently
WORK_PER_HOUR = 1000
RESPONSE_CODE_TTL = 72 * 3600  # template-card response codes: once, within 72 h
OAUTH_CODE_TTL = 300  # OAuth codes: once, within 5 minutes
DEFAULT_DUPLICATE_INTERVAL = 1800  # message/send duplicate_check_interval default (max 4 h)

DEFAULT_PATIENT = "o_sim_patient_1"
DEFAULT_CLINICIAN = "n0001"

DEFAULT_DEPARTMENTS: list[dict[str, Any]] = [
    {"id": 1, "name": "仿真医院", "name_en": "Sim Hospital", "parentid": 0, "order": 100000000},
    {"id": 2, "name": "护理部", "name_en": "Nursing", "parentid": 1, "order": 99999000},
    {"id": 3, "name": "血管通路护理门诊", "name_en": "Vascular Access Clinic", "parentid": 2,
     "order": 99998000},
    {"id": 4, "name": "介入科", "name_en": "Interventional Radiology", "parentid": 1,
     "order": 99997000},
    {"id": 5, "name": "外院医护", "name_en": "Outside Clinicians", "parentid": 1,
     "order": 99996000},
]  # fmt: skip

DEFAULT_WORK_USERS: list[dict[str, Any]] = [
    {"userid": "n0001", "name": "王护士", "department": [3], "position": "护士",
     "mobile": "13800000001"},
    {"userid": "n0002", "name": "赵护士", "department": [3], "position": "护士长",
     "mobile": "13800000002"},
    {"userid": "d0001", "name": "李医生", "department": [4], "position": "主治医师",
     "mobile": "13800000003"},
]  # fmt: skip


class ManualClock:
    """A clock that only moves when told: ``clock.advance(48 * 3600)``."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Grant:
    kind: str  # "message" | "event"
    until: float
    left: int


@dataclass
class _Conversation:
    entries: list[dict[str, Any]] = field(default_factory=list)


def _norm_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def message_digest(msgtype: str, payload: Any) -> str:
    data = json.dumps([msgtype, payload], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class SimState:
    """In-memory state of the simulator. Every public method takes the lock."""

    def __init__(self, config: SimConfig | None = None, clock: Callable[[], float] | None = None):
        self.config = config or SimConfig()
        self.clock: Callable[[], float] = clock or time.time
        self._lock = threading.RLock()
        self._msg_id = secrets.randbits(61) + (1 << 62)
        self.reset()

    # ------------------------------------------------------------------ basics
    def now(self) -> float:
        return self.clock() + self._offset

    def advance_clock(self, seconds: float) -> float:
        """Move the simulator's time forward (works whatever clock was injected)."""
        with self._lock:
            self._offset += seconds
            return self.now()

    def reset(self) -> None:
        """Forget everything (tokens, calls, faults, media, messages …); re-seed the directory."""
        with self._lock:
            self._offset = 0.0
            self._seq = 0
            self._tokens: dict[str, dict[str, Any]] = {}
            self._token_fetches: dict[str, deque[float]] = {c: deque() for c in CHANNELS}
            self._calls: dict[str, list[dict[str, Any]]] = {c: [] for c in CHANNELS}
            self._faults: list[dict[str, Any]] = []
            self._media: dict[str, dict[str, Any]] = {}
            self._grants: dict[str, dict[str, _Grant]] = {}
            self._subscriptions: set[tuple[str, str | None]] = set()
            self._mp_users: dict[str, dict[str, Any]] = {}
            self._work_users: dict[str, dict[str, Any]] = {
                u["userid"]: copy.deepcopy(u) for u in DEFAULT_WORK_USERS
            }
            self._departments = copy.deepcopy(DEFAULT_DEPARTMENTS)
            self._menus: dict[str, dict[str, Any] | None] = {c: None for c in CHANNELS}
            self._conversations: dict[tuple[str, str], _Conversation] = {}
            self._entries: dict[int, dict[str, Any]] = {}
            self._work_sends: dict[str, deque[float]] = {}
            self._dup: dict[tuple[str, str], float] = {}
            self._dropped: list[dict[str, Any]] = []
            self._chats: dict[str, dict[str, Any]] = {}
            self._cards: dict[str, dict[str, Any]] = {}
            self._response_codes: dict[str, dict[str, Any]] = {}
            self._oauth_codes: dict[str, dict[str, Any]] = {}
            self._callbacks: list[dict[str, Any]] = []
            self.add_mp_user(DEFAULT_PATIENT)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def next_msg_id(self) -> int:
        """A unique 64-bit MsgId (WeChat's are 64-bit integers)."""
        with self._lock:
            self._msg_id += 1 + secrets.randbelow(997)
            return self._msg_id

    # ------------------------------------------------------------------ tokens
    def issue_token(self, channel: str) -> tuple[str | None, int]:
        """A new access token for ``channel`` → (token, expires_in); (None, 45009) when the
        daily quota of token fetches is used up."""
        with self._lock:
            now = self.now()
            fetches = self._token_fetches[channel]
            while fetches and fetches[0] <= now - 86400:
                fetches.popleft()
            if len(fetches) >= TOKEN_DAILY_LIMIT:
                return None, 45009
            fetches.append(now)
            token = f"SIM_{channel.upper()}_" + secrets.token_urlsafe(40)
            self._tokens[token] = {"channel": channel, "expires_at": now + TOKEN_TTL}
            return token, TOKEN_TTL

    def token_fetches(self, channel: str) -> int:
        """How many tokens ``channel`` fetched in the last 24 hours."""
        with self._lock:
            now = self.now()
            return sum(1 for t in self._token_fetches[channel] if t > now - 86400)

    def check_token(self, channel: str, token: str | None) -> int:
        """0 if ``token`` is a live token of ``channel``; else WeChat's errcode."""
        with self._lock:
            if not token:
                return 41001
            info = self._tokens.get(token)
            if info is None or info["channel"] != channel:
                return 40014
            if self.now() >= info["expires_at"]:
                return 42001
            return 0

    def expire_tokens(self) -> int:
        """Every token issued so far now answers 42001; returns how many."""
        with self._lock:
            now = self.now()
            for info in self._tokens.values():
                info["expires_at"] = min(info["expires_at"], now)
            return len(self._tokens)

    # ------------------------------------------------------------------ calls
    def record_call(self, channel: str, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"seq": self._next_seq(), "time": self.now(), "channel": channel, **entry}
            self._calls.setdefault(channel, []).append(entry)
            return copy.deepcopy(entry)

    def calls(
        self, channel: str | None = None, path: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded API calls, oldest first. ``path`` may be the full path
        (``/mp/cgi-bin/message/custom/send``) or the API path (``/cgi-bin/message/custom/send``)."""
        with self._lock:
            channels = [channel] if channel else list(self._calls)
            out = [c for ch in channels for c in self._calls.get(ch, [])]
            if path:
                p = _norm_path(path)
                out = [c for c in out if p in (c["path"], c["api_path"])]
            if method:
                out = [c for c in out if c["method"] == method.upper()]
            out.sort(key=lambda c: c["seq"])
            return copy.deepcopy(out)

    # ------------------------------------------------------------------ faults
    def add_fault(
        self,
        path: str,
        errcode: int | None = None,
        *,
        errmsg: str | None = None,
        http_status: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> dict[str, Any]:
        """The next ``times`` calls to ``path`` (full path, ``*`` wildcards allowed) fail:
        with ``errcode`` (HTTP 200 JSON, as WeChat does) and/or ``http_status``; ``delay``
        seconds before answering (to exercise client timeouts)."""
        if errcode is None and http_status is None:
            raise ValueError("a fault needs an errcode or an http_status")
        with self._lock:
            fault = {
                "id": self._next_seq(),
                "path": _norm_path(path),
                "errcode": errcode,
                "errmsg": errmsg,
                "http_status": http_status,
                "times": int(times),
                "delay": float(delay),
            }
            self._faults.append(fault)
            return dict(fault)

    def take_fault(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self._faults:
                if fault["times"] > 0 and fnmatch.fnmatchcase(path, fault["path"]):
                    fault["times"] -= 1
                    taken = dict(fault)
                    self._faults = [f for f in self._faults if f["times"] > 0]
                    return taken
            return None

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = []

    # ------------------------------------------------------------------ media
    def add_media(
        self,
        channel: str,
        data: bytes,
        content_type: str,
        *,
        filename: str | None = None,
        media_type: str = "image",
    ) -> dict[str, Any]:
        with self._lock:
            media_id = (
                secrets.token_urlsafe(48) if channel == "mp" else "3" + secrets.token_urlsafe(40)
            )
            info = {
                "media_id": media_id,
                "channel": channel,
                "type": media_type,
                "content_type": content_type,
                "filename": filename or f"{media_id[:12]}.{_ext(content_type)}",
                "created_at": int(self.now()),
                "size": len(data),
            }
            self._media[media_id] = {**info, "data": bytes(data)}
            return info

    def get_media(self, channel: str | None, media_id: str) -> dict[str, Any] | None:
        """The media (with ``data``) if it exists for ``channel`` and is under 3 days old."""
        with self._lock:
            media = self._media.get(media_id)
            if media is None or (channel and media["channel"] != channel):
                return None
            if self.now() - media["created_at"] >= MEDIA_TTL:
                return None
            return dict(media)

    # ------------------------------------------------------------------ MP customer-service window
    def user_message(self, openid: str, kind: str = "message", at: float | None = None) -> None:
        """``openid`` just wrote to the account (``kind="message"``: 5 messages within 48 h)
        or clicked a menu / scanned / followed (``kind="event"``: 3 within a minute)."""
        if kind not in ("message", "event"):
            raise ValueError("kind is 'message' or 'event'")
        with self._lock:
            when = self.now() if at is None else at
            if kind == "message":
                grant = _Grant(kind, when + MP_MESSAGE_WINDOW, MP_MESSAGE_ALLOWANCE)
            else:
                grant = _Grant(kind, when + MP_EVENT_WINDOW, MP_EVENT_ALLOWANCE)
            self._grants.setdefault(openid, {})[kind] = grant
            self.add_mp_user(openid)

    def consume_custom(self, openid: str) -> int:
        """Use one customer-service message for ``openid``: 0, 45015 or 45047."""
        with self._lock:
            now = self.now()
            active = [g for g in self._grants.get(openid, {}).values() if g.until > now]
            if not active:
                return 45015
            for grant in sorted(active, key=lambda g: g.until):
                if grant.left > 0:
                    grant.left -= 1
                    return 0
            return 45047

    def window(self, openid: str) -> dict[str, Any]:
        """The open customer-service allowances of ``openid`` (for the phone page and tests)."""
        with self._lock:
            now = self.now()
            return {
                kind: {"until": g.until, "left": g.left}
                for kind, g in self._grants.get(openid, {}).items()
                if g.until > now
            }

    # ------------------------------------------------------------------ subscribe messages
    def accept_subscription(self, openid: str, template_id: str | None = None) -> None:
        """``openid`` accepted subscribe messages (of ``template_id``, or of any template)."""
        with self._lock:
            self._subscriptions.add((openid, template_id))
            self.add_mp_user(openid)

    def reject_subscription(self, openid: str, template_id: str | None = None) -> None:
        with self._lock:
            if template_id is None:
                self._subscriptions = {s for s in self._subscriptions if s[0] != openid}
            else:
                self._subscriptions.discard((openid, template_id))

    def is_subscribed(self, openid: str, template_id: str) -> bool:
        with self._lock:
            return (openid, None) in self._subscriptions or (
                openid,
                template_id,
            ) in self._subscriptions

    # ------------------------------------------------------------------ directory
    def add_mp_user(self, openid: str, **info: Any) -> dict[str, Any]:
        with self._lock:
            user = self._mp_users.get(openid)
            if user is None:
                user = {
                    "subscribe": 1,
                    "openid": openid,
                    "nickname": "",
                    "sex": 0,
                    "language": "zh_CN",
                    "city": "",
                    "province": "",
                    "country": "",
                    "headimgurl": "",
                    "subscribe_time": int(self.now()),
                    "remark": "",
                    "groupid": 0,
                    "tagid_list": [],
                    "subscribe_scene": "ADD_SCENE_QR_CODE",
                    "qr_scene": 0,
                    "qr_scene_str": "",
                }
                self._mp_users[openid] = user
            user.update(info)
            return dict(user)

    def mp_user(self, openid: str) -> dict[str, Any] | None:
        with self._lock:
            user = self._mp_users.get(openid)
            return dict(user) if user else None

    def add_work_user(
        self, userid: str, name: str | None = None, department: Iterable[int] = (3,), **info: Any
    ) -> dict[str, Any]:
        with self._lock:
            user = self._work_users.get(userid)
            if user is None:
                user = {"userid": userid, "name": name or userid, "department": list(department)}
                self._work_users[userid] = user
            elif name:
                user["name"] = name
            user.update(info)
            return copy.deepcopy(user)

    def work_user(self, userid: str) -> dict[str, Any] | None:
        with self._lock:
            user = self._work_users.get(userid)
            return copy.deepcopy(user) if user else None

    def work_users(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._work_users.values()))

    def departments(self, root: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if root is None:
                return copy.deepcopy(self._departments)
            wanted = {root}
            changed = True
            while changed:
                changed = False
                for d in self._departments:
                    if d["parentid"] in wanted and d["id"] not in wanted:
                        wanted.add(d["id"])
                        changed = True
            return copy.deepcopy([d for d in self._departments if d["id"] in wanted])

    def users_in_departments(self, dept_ids: Iterable[int]) -> list[str]:
        with self._lock:
            wanted: set[int] = set()
            for d in dept_ids:
                wanted.update(x["id"] for x in self.departments(int(d)))
            return [
                u["userid"]
                for u in self._work_users.values()
                if wanted.intersection(u.get("department", []))
            ]

    # ------------------------------------------------------------------ menus
    def set_menu(self, channel: str, menu: dict[str, Any] | None) -> None:
        with self._lock:
            self._menus[channel] = copy.deepcopy(menu)

    def menu(self, channel: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._menus.get(channel))

    # ------------------------------------------------------------------ conversations
    def _append(self, key: tuple[str, str], entry: dict[str, Any]) -> dict[str, Any]:
        entry = {
            "id": self._next_seq(),
            "rev": 0,
            "time": self.now(),
            "channel": key[0],
            "user" if key[0] != "appchat" else "chat": key[1],
            **entry,
        }
        self._conversations.setdefault(key, _Conversation()).entries.append(entry)
        self._entries[entry["id"]] = entry
        return entry

    def deliver(
        self,
        channel: str,
        user: str,
        msgtype: str,
        payload: Any,
        *,
        source: str = "api",
        **extra: Any,
    ) -> dict[str, Any]:
        """Something the bot sent to ``user`` (openid / userid / chatid for ``appchat``)."""
        with self._lock:
            entry = self._append(
                (channel, user),
                {
                    "direction": "bot",
                    "msgtype": msgtype,
                    "payload": copy.deepcopy(payload),
                    "source": source,
                    **extra,
                },
            )
            return copy.deepcopy(entry)

    # Tests may put a bot message in a conversation directly.
    inject_bot_message = deliver

    def log_user(
        self, channel: str, user: str, msgtype: str, payload: Any, **extra: Any
    ) -> dict[str, Any]:
        """Something the (simulated) person did on the phone: a message or an event."""
        with self._lock:
            entry = self._append(
                (channel, user),
                {"direction": "user", "msgtype": msgtype, "payload": copy.deepcopy(payload)}
                | extra,
            )
            return copy.deepcopy(entry)

    def log_system(self, channel: str, user: str, text: str, level: str = "error") -> dict:
        """A note shown in the phone's chat (e.g. "回调失败：HTTP 502 …")."""
        with self._lock:
            entry = self._append(
                (channel, user),
                {"direction": "system", "msgtype": "notice", "payload": {"text": text},
                 "level": level},
            )  # fmt: skip
            return copy.deepcopy(entry)

    def messages(
        self,
        channel: str,
        user: str,
        *,
        include_user: bool = False,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        """What the bot sent to ``user`` in order (``include_user``: the person's own messages
        and the system notes too). ``since``: only entries with a greater id or a newer rev."""
        with self._lock:
            conv = self._conversations.get((channel, user))
            if conv is None:
                return []
            out = [
                e
                for e in conv.entries
                if (include_user or e["direction"] == "bot")
                and (e["id"] > since or e.get("updated_seq", 0) > since)
            ]
            return copy.deepcopy(out)

    def latest_seq(self) -> int:
        with self._lock:
            return self._seq

    def update_entry(self, entry_id: int, **changes: Any) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(entry_id)
            if entry is None:
                return None
            entry.update(copy.deepcopy(changes))
            entry["rev"] += 1
            entry["updated_seq"] = self._next_seq()
            return copy.deepcopy(entry)

    # ------------------------------------------------------------------ WeChat Work sending rules
    def work_rate_ok(self, userid: str) -> bool:
        """Count one message to ``userid``; False when over 30/min or 1,000/h (dropped)."""
        with self._lock:
            if not self.config.work_rate_limit:
                return True
            now = self.now()
            sends = self._work_sends.setdefault(userid, deque())
            while sends and sends[0] <= now - 3600:
                sends.popleft()
            last_minute = sum(1 for t in sends if t > now - 60)
            if last_minute >= WORK_PER_MINUTE or len(sends) >= WORK_PER_HOUR:
                return False
            sends.append(now)
            return True

    def is_duplicate(self, userid: str, digest: str, interval: float) -> bool:
        with self._lock:
            last = self._dup.get((userid, digest))
            return last is not None and self.now() - last < interval

    def remember_sent(self, userid: str, digest: str) -> None:
        with self._lock:
            self._dup[(userid, digest)] = self.now()

    def record_dropped(self, userid: str, reason: str, body: Any) -> None:
        with self._lock:
            self._dropped.append(
                {"time": self.now(), "user": userid, "reason": reason, "body": copy.deepcopy(body)}
            )

    def dropped(self) -> list[dict[str, Any]]:
        """Work messages accepted but not delivered (duplicate check, rate limit)."""
        with self._lock:
            return copy.deepcopy(self._dropped)

    # ------------------------------------------------------------------ group chats
    def create_chat(self, chatid: str, name: str, owner: str, userlist: list[str]) -> dict:
        with self._lock:
            chat = {
                "chatid": chatid,
                "name": name,
                "owner": owner,
                "userlist": list(userlist),
                "created_at": int(self.now()),
            }
            self._chats[chatid] = chat
            return dict(chat)

    def chat(self, chatid: str) -> dict[str, Any] | None:
        with self._lock:
            chat = self._chats.get(chatid)
            return copy.deepcopy(chat) if chat else None

    def update_chat(self, chatid: str, **changes: Any) -> dict[str, Any] | None:
        with self._lock:
            chat = self._chats.get(chatid)
            if chat is None:
                return None
            chat.update(changes)
            return copy.deepcopy(chat)

    def chats_for(self, userid: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy([c for c in self._chats.values() if userid in c["userlist"]])

    # ------------------------------------------------------------------ template cards
    def register_card(self, task_id: str, card: dict[str, Any], entry_ids: list[int]) -> None:
        with self._lock:
            self._cards[task_id] = {
                "task_id": task_id,
                "card": copy.deepcopy(card),
                "entries": list(entry_ids),
                "created_at": self.now(),
            }

    def card(self, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            card = self._cards.get(task_id)
            return copy.deepcopy(card) if card else None

    def card_entries(self, task_id: str) -> list[dict[str, Any]]:
        with self._lock:
            card = self._cards.get(task_id)
            if not card:
                return []
            return copy.deepcopy([self._entries[i] for i in card["entries"] if i in self._entries])

    def issue_response_code(self, task_id: str, userid: str | None) -> str:
        with self._lock:
            code = secrets.token_urlsafe(32)
            self._response_codes[code] = {
                "task_id": task_id,
                "userid": userid,
                "issued_at": self.now(),
                "used": False,
            }
            return code

    def use_response_code(self, code: str) -> dict[str, Any] | None:
        """The code's record if it is valid (unused, under 72 h); it is then spent."""
        with self._lock:
            info = self._response_codes.get(code)
            if info is None or info["used"] or self.now() - info["issued_at"] > RESPONSE_CODE_TTL:
                return None
            info["used"] = True
            return dict(info)

    # ------------------------------------------------------------------ OAuth
    def issue_oauth_code(self, channel: str, user: str) -> str:
        with self._lock:
            code = secrets.token_hex(16)
            self._oauth_codes[code] = {"channel": channel, "user": user, "at": self.now()}
            return code

    def redeem_oauth_code(self, channel: str, code: str) -> str | None:
        """The user the code was issued for; a code works once, within 5 minutes."""
        with self._lock:
            info = self._oauth_codes.pop(code, None)
            if info is None or info["channel"] != channel:
                return None
            if self.now() - info["at"] > OAUTH_CODE_TTL:
                return None
            return str(info["user"])

    # ------------------------------------------------------------------ callbacks to the product
    def record_callback(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entry = {"seq": self._next_seq(), "time": self.now(), **entry}
            self._callbacks.append(entry)
            return copy.deepcopy(entry)

    def callbacks(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every callback the phone page posted to the product, with the outcome."""
        with self._lock:
            return copy.deepcopy(
                [c for c in self._callbacks if channel is None or c["channel"] == channel]
            )


def _ext(content_type: str) -> str:
    return {
        "image/jpeg": "jpg",
        "image/png": "png",
        "image/gif": "gif",
        "image/webp": "webp",
        "audio/amr": "amr",
        "audio/mpeg": "mp3",
        "video/mp4": "mp4",
    }.get(content_type.split(";")[0].strip(), "bin")
