"""Flood limits of the fake Bot API (Telegram answers 429 "Too Many Requests").

Real Telegram limits bots to about 30 messages per second overall, 20 per
minute per group and about one per second per private chat (with some burst).
Benchmarks and rate-limit tests switch them on with :class:`Limits`; by default
nothing is limited.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Limits", "RateLimiter"]


@dataclass
class Limits:
    """Limits for send* calls (``None`` = unlimited) and artificial latency.

    ``chat_per_second`` is a token bucket per private chat (positive chat id)
    refilled at that rate and holding up to ``chat_burst`` tokens, so a short
    burst of ``chat_burst`` messages passes.  ``latency`` is added to every call
    except getUpdates.  A 429 carries ``retry_after`` seconds, except the global
    limit, which answers the time until its 1-second window frees (at least 1).
    """

    global_per_second: int | None = None
    group_per_minute: int | None = None
    chat_per_second: int | None = None
    latency: float = 0.0
    retry_after: int = 1
    chat_burst: int = 3


class RateLimiter:
    """Sliding-window / token-bucket bookkeeping for :class:`Limits`.

    ``check`` and ``record`` are separate so that only successful sends count:
    a call that is refused (429 or any other error) does not use up the window.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}

    def check(self, chat_id: int | None) -> int | None:
        """Seconds to retry after if a send to ``chat_id`` now would exceed a limit."""
        now = self._clock()
        retry = self._check_global(now)
        if retry is None and chat_id is not None:
            retry = (
                self._check_group(chat_id, now) if chat_id < 0 else self._check_chat(chat_id, now)
            )
        return retry

    def record(self, chat_id: int | None) -> None:
        """Count a successful send to ``chat_id``."""
        now = self._clock()
        if self.limits.global_per_second is not None:
            self._global.append(now)
        if chat_id is None:
            return
        if chat_id < 0 and self.limits.group_per_minute is not None:
            self._groups.setdefault(chat_id, deque()).append(now)
        elif chat_id > 0 and self.limits.chat_per_second is not None:
            tokens, _ = self._refill(chat_id, now)
            self._buckets[chat_id] = (tokens - 1.0, now)

    def _check_global(self, now: float) -> int | None:
        """Global sliding 1-second window."""
        limit = self.limits.global_per_second
        if limit is None:
            return None
        _prune(self._global, now - 1.0)
        if len(self._global) < limit:
            return None
        return max(1, math.ceil(self._global[0] + 1.0 - now))

    def _check_group(self, chat_id: int, now: float) -> int | None:
        """Per-group sliding 60-second window."""
        limit = self.limits.group_per_minute
        if limit is None:
            return None
        window = self._groups.get(chat_id)
        if window is None:
            return None
        _prune(window, now - 60.0)
        return self.limits.retry_after if len(window) >= limit else None

    def _check_chat(self, chat_id: int, now: float) -> int | None:
        """Per-private-chat token bucket."""
        if self.limits.chat_per_second is None:
            return None
        tokens, _ = self._refill(chat_id, now)
        return self.limits.retry_after if tokens < 1.0 else None

    def _refill(self, chat_id: int, now: float) -> tuple[float, float]:
        """Current (tokens, time) of a private chat's bucket."""
        rate = float(self.limits.chat_per_second or 0)
        capacity = float(max(self.limits.chat_burst, self.limits.chat_per_second or 0, 1))
        tokens, last = self._buckets.get(chat_id, (capacity, now))
        return min(capacity, tokens + (now - last) * rate), now


def _prune(window: deque[float], older_than: float) -> None:
    """Drop timestamps that left the window."""
    while window and window[0] <= older_than:
        window.popleft()
