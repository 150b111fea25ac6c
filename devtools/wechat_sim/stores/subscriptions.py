"""Which followers accepted which subscribe-message templates."""

from __future__ import annotations

from .core import Core, Store
from .followers import Followers


class Subscriptions(Store):
    def __init__(self, core: Core, followers: Followers) -> None:
        self._followers = followers
        super().__init__(core)

    def reset(self) -> None:
        with self._lock:
            self._accepted: set[tuple[str, str | None]] = set()

    def accept(self, openid: str, template_id: str | None = None) -> None:
        """``openid`` accepted subscribe messages (of ``template_id``, or of any template)."""
        with self._lock:
            self._accepted.add((openid, template_id))
            self._followers.add(openid)

    def reject(self, openid: str, template_id: str | None = None) -> None:
        with self._lock:
            if template_id is None:
                self._accepted = {s for s in self._accepted if s[0] != openid}
            else:
                self._accepted.discard((openid, template_id))

    def allows(self, openid: str, template_id: str) -> bool:
        with self._lock:
            return bool({(openid, None), (openid, template_id)} & self._accepted)
