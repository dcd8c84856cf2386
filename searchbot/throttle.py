"""Telegram's sending limits, enforced before a call rather than discovered by 429s.

Overall: evenly spaced sends at a little under the configured rate (a 429 costs far more than
the margin). Per chat: a sliding window (a group may take 20 a minute, a person about one a
second with short bursts). A 429 pauses only the chat that received it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

SAFETY = 0.95  # aim this much under the limit


class Throttle:
    def __init__(
        self,
        per_second: float,
        group_per_minute: int,
        chat_per_second: float,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / (per_second * SAFETY)
        self._group = (group_per_minute, 60.0)
        burst = 3
        self._person = (burst, burst / chat_per_second)
        self._now = now
        self._next_slot = 0.0
        self._sent: defaultdict[int, deque[float]] = defaultdict(deque)
        self._paused: dict[int, float] = {}

    def wait_for_chat(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may receive another message (0 if now)."""
        now = self._now()
        paused = self._paused.get(chat_id, 0.0) - now
        count, window = self._group if chat_id < 0 else self._person
        history = self._sent.get(chat_id)
        if history:
            while history and history[0] <= now - window:
                history.popleft()
        full = history[0] + window - now if history and len(history) >= count else 0.0
        return max(paused, full, 0.0)

    async def global_slot(self) -> None:
        """Wait for the next overall sending slot.

        A sender that fell behind (a database round trip between batches) may catch up by one
        slot, never more: the spacing over any second stays within the limit."""
        now = self._now()
        if self._next_slot > now:
            await asyncio.sleep(self._next_slot - now)
            now = self._now()
        self._next_slot = max(now - self._interval, self._next_slot) + self._interval

    def record(self, chat_id: int) -> None:
        self._sent[chat_id].append(self._now())

    def unrecord(self, chat_id: int) -> None:
        """Take back the newest ``record`` (the message was not sent after all)."""
        history = self._sent.get(chat_id)
        if history:
            history.pop()

    def pause(self, chat_id: int, seconds: float) -> None:
        """A 429 for this chat: nothing more to it for ``seconds``."""
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), self._now() + seconds)
