"""What every store of a :class:`~..state.SimState` shares: one lock, one clock, one sequence."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

CHANNELS = ("mp", "work")


class Core:
    """The simulator's lock (re-entrant, so one store may call another under it), its time
    (an injectable clock plus an offset :meth:`advance` moves) and its sequence numbers."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._msg_id = secrets.randbits(61) + (1 << 62)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._offset = 0.0
            self._seq = 0

    def now(self) -> float:
        return self.clock() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the simulator's time forward (works whatever clock was injected)."""
        with self.lock:
            self._offset += seconds
            return self.now()

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def latest_seq(self) -> int:
        with self.lock:
            return self._seq

    def next_msg_id(self) -> int:
        """A unique 64-bit MsgId (WeChat's are 64-bit integers)."""
        with self.lock:
            self._msg_id += 1 + secrets.randbelow(997)
            return self._msg_id


class Store:
    """One part of what the simulator remembers. Every public method takes the shared lock;
    :meth:`reset` forgets everything (called on creation and by ``SimState.reset``)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._lock = core.lock
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def _now(self) -> float:
        return self._core.now()
