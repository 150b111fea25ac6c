"""Everything the simulator remembers, in memory and thread-safe.

One :class:`SimState` per simulator app: a composition of stores (:mod:`.stores`), one per
responsibility, that share one lock, one clock and one sequence. Tests and the ``/_sim/*``
endpoints use the stores (``state.media.put(…)``, ``state.conversations.messages(…)``,
``state.faults.add(…)`` …). Time comes from an injectable clock (plus an offset that
``state.core.advance`` moves), so the 48-hour window, token expiry and media lifetime are
testable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .config import SimConfig
from .stores import (
    DEFAULT_PATIENT,
    ApiCalls,
    CallbackLog,
    Cards,
    Chats,
    Conversations,
    Core,
    Directory,
    Faults,
    Followers,
    Media,
    Menus,
    OAuthCodes,
    Store,
    Subscriptions,
    Tokens,
    Windows,
    WorkSends,
)


class ManualClock:
    """A clock that only moves when told: ``clock.advance(48 * 3600)``."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimState:
    """In-memory state of the simulator: the stores below, sharing :attr:`core`'s lock."""

    def __init__(self, config: SimConfig | None = None, clock: Callable[[], float] | None = None):
        self.config = config or SimConfig()
        self.core = Core(clock or time.time)
        core = self.core
        self.tokens = Tokens(core)  # access tokens and the daily fetch quota
        self.oauth = OAuthCodes(core)  # web-authorisation codes
        self.api_calls = ApiCalls(core)  # every API call the product made
        self.faults = Faults(core)  # failures a test armed
        self.media = Media(core)  # temporary media
        self.followers = Followers(core)  # the official account's users
        self.directory = Directory(core)  # WeChat Work's members and departments
        self.windows = Windows(core, self.followers)  # customer-service allowances
        self.subscriptions = Subscriptions(core, self.followers)  # subscribe messages
        self.menus = Menus(core)  # pushed custom menus
        self.conversations = Conversations(core)  # what the phone shows; the bot's outbox
        self.work_sends = WorkSends(core, self.config)  # rate limits, duplicate check
        self.chats = Chats(core)  # WeChat Work group chats
        self.cards = Cards(core, self.conversations)  # template cards, response codes
        self.callbacks = CallbackLog(core)  # callbacks the phone posted to the product
        self.followers.add(DEFAULT_PATIENT)

    def reset(self) -> None:
        """Forget everything (tokens, calls, faults, media, messages …); re-seed the directory."""
        with self.core.lock:
            self.core.reset()
            for store in vars(self).values():
                if isinstance(store, Store):
                    store.reset()
            self.followers.add(DEFAULT_PATIENT)

    # ------------------------------------------------------------------ shortcuts
    def __getattr__(self, name: str) -> Any:
        """``state.user_message(…)`` is ``state.windows.user_message(…)`` and so on
        (:data:`SHORTCUTS`)."""
        try:
            store, method = SHORTCUTS[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}") from None
        return getattr(getattr(self, store), method)


# What the integration and end-to-end tests and the benchmark call on the state itself (the
# first four at many call sites; the others in test modules outside this package): name →
# (store, method). Everything in this package calls the stores.
SHORTCUTS: dict[str, tuple[str, str]] = {
    "user_message": ("windows", "user_message"),
    "messages": ("conversations", "messages"),
    "calls": ("api_calls", "find"),
    "add_fault": ("faults", "add"),
    "token_fetches": ("tokens", "fetches"),
    "expire_tokens": ("tokens", "expire_all"),
    "accept_subscription": ("subscriptions", "accept"),
    "add_media": ("media", "put"),
    "chat": ("chats", "get"),
    "issue_response_code": ("cards", "issue_code"),
    "card_entries": ("cards", "entries"),
    "add_work_user": ("directory", "add_user"),
    "work_user": ("directory", "user"),
}
