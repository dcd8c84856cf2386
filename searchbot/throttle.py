"""Telegram's sending limits, enforced before a call rather than discovered by 429s.

Overall: at most 95 % of the limit in any sliding second (a 429 costs far more than the
margin), never closer together than 90 % of the even spacing, so a sender that fell behind
catches up without a burst that network jitter could turn into a 429. Per chat: a group may take 20 a minute (sliding window); a person about one a second with
bursts of three (a token bucket). Replies the handlers send directly count too. A 429 pauses
only the chat that received it.
"""

from __future__ import annotations

import asyncio
import math
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
        self._window_cap = max(1, math.ceil(per_second * SAFETY))
        self._min_gap = 0.9 / per_second
        self._recent: deque[float] = deque()
        self._group = (group_per_minute, 60.0)
        self._person_rate, self._person_burst = chat_per_second, 3.0
        self._tokens: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._now = now
        self._last_slot = -math.inf
        self._sent: defaultdict[int, deque[float]] = defaultdict(deque)
        self._paused: dict[int, float] = {}

    def wait_for_chat(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may receive another message (0 if now)."""
        now = self._now()
        paused = self._paused.get(chat_id, 0.0) - now
        if chat_id > 0:
            tokens = self._person_tokens(chat_id, now)
            return max(paused, (1.0 - tokens) / self._person_rate, 0.0)
        count, window = self._group
        history = self._sent.get(chat_id)
        if history:
            while history and history[0] <= now - window:
                history.popleft()
        full = history[0] + window - now if history and len(history) >= count else 0.0
        return max(paused, full, 0.0)

    def _person_tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._tokens.get(chat_id, (self._person_burst, now))
        return min(self._person_burst, tokens + (now - at) * self._person_rate)

    async def global_slot(self) -> None:
        """Wait for the next overall sending slot."""
        while True:
            now = self._now()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            wait = self._last_slot + self._min_gap - now
            if len(self._recent) >= self._window_cap:
                wait = max(wait, self._recent[0] + 1.0 - now)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._recent.append(now)
        self._last_slot = now

    def record_direct(self, chat_id: int) -> None:
        """A message sent outside ``global_slot`` (a handler's reply): it still counts, but a
        conversation must not run up a debt that keeps the person's next alert waiting."""
        now = self._now()
        self._recent.append(now)
        if chat_id > 0:
            self._tokens[chat_id] = (max(0.0, self._person_tokens(chat_id, now) - 1.0), now)
        else:
            self._sent[chat_id].append(now)

    def record(self, chat_id: int) -> None:
        now = self._now()
        if chat_id > 0:
            self._tokens[chat_id] = (self._person_tokens(chat_id, now) - 1.0, now)
        else:
            self._sent[chat_id].append(now)

    def unrecord(self, chat_id: int) -> None:
        """Take back the newest ``record`` (the message was not sent after all)."""
        if chat_id > 0:
            tokens, at = self._tokens.get(chat_id, (self._person_burst, self._now()))
            self._tokens[chat_id] = (min(self._person_burst, tokens + 1.0), at)
            return
        history = self._sent.get(chat_id)
        if history:
            history.pop()

    def pause(self, chat_id: int, seconds: float) -> None:
        """A 429 for this chat: nothing more to it for ``seconds``."""
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), self._now() + seconds)
