"""Flood limits of the fake Bot API (Telegram answers 429 "Too Many Requests").

Real Telegram limits bots to about 30 messages per second overall, 20 per minute per group
and about one per second in any chat (a short burst passes). A bot that pays for it sends with
``allow_paid_broadcast`` at up to 1000 messages a second overall (see ``stars.py`` for the
price and the sources). Benchmarks and rate-limit tests switch the limits on with
:class:`Limits` (``Limits.telegram()`` gives Telegram's figures); by default nothing is limited.

The fake is never kinder than Telegram:

- after a 429 the chat stays refused until its ``retry_after`` has passed: every call to it
  in the cool-down is answered 429 again with the time that remains;
- exceeding the overall limit refuses the whole bot (every chat) for ``retry_after``;
- every send, free or paid, counts in one overall window: a free send is refused once the
  last second holds ``global_per_second`` sends of any kind, a paid one once it holds
  ``paid_per_second``. Telegram's own accounting counts them together ("each message broadcasted
  over the free amount of 30 messages per second incurs a cost"), so paid sends use up the free
  30 as well; a fake that gave free sends their own 30 beside a paid broadcast would be kinder;
- per-chat and per-group limits hold for paid sends as for free ones;
- every chat, groups included, has a token bucket of ``chat_per_second`` holding
  ``chat_burst`` tokens, and groups also a sliding 60-second window of ``group_per_minute``;
- a test can make the server refuse everything for a while (:meth:`RateLimiter.storm`).

Each 429 is counted by kind (:data:`KINDS`) so tests and the benchmark can tell a limit the
bot ran into from one it kept running into.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["KINDS", "Limits", "RateLimiter", "Refusal"]

# Why a 429 was answered: a chat's one-a-second bucket, a group's 20 a minute, the overall
# limit, the paid broadcast's overall limit, a call made while a cool-down from an earlier 429
# was running, a storm, fail_next().
KINDS = ("chat", "group", "overall", "paid", "cooldown", "storm", "injected")


@dataclass
class Limits:
    """Limits for send* calls (``None`` = unlimited) and artificial latency.

    ``chat_per_second`` is a token bucket per chat (people and groups) refilled at that rate
    and holding up to ``chat_burst`` tokens. ``paid_per_second`` is the overall ceiling for
    sends with ``allow_paid_broadcast`` (free and paid sends share the window, see the module's
    docstring). ``latency`` is added to every call except getUpdates. A 429 carries at least ``retry_after`` seconds, more when the limit frees
    later (a full group window answers the time until its oldest message leaves it).
    """

    global_per_second: int | None = None
    group_per_minute: int | None = None
    chat_per_second: float | None = None
    latency: float = 0.0
    retry_after: int = 1
    chat_burst: int = 3
    paid_per_second: int | None = None

    @classmethod
    def telegram(cls, latency: float = 0.0, retry_after: int = 1) -> Limits:
        """Telegram's published limits: 30/s overall (1000/s for paid broadcasts), 20/min per
        group, ~1/s per chat."""
        return cls(
            global_per_second=30,
            group_per_minute=20,
            chat_per_second=1.0,
            latency=latency,
            retry_after=retry_after,
            paid_per_second=1000,
        )


@dataclass(frozen=True)
class Refusal:
    """A 429 to answer: after how many seconds, and why (one of :data:`KINDS`)."""

    retry_after: int
    kind: str


class RateLimiter:
    """Sliding-window / token-bucket / cool-down bookkeeping for :class:`Limits`.

    ``check`` and ``record`` are separate so that only successful sends use up a window or a
    token: a call that is refused (429 or any other error) does not.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.counts: Counter[str] = Counter({kind: 0 for kind in KINDS})
        self._clock = clock
        self._global: deque[float] = deque()  # every send of the last second, free or paid
        self._groups: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}
        self._chat_cooldown: dict[int, float] = {}
        self._bot_cooldown = -math.inf
        self._storm_until = -math.inf

    # ------------------------------------------------------------------ control

    def storm(self, seconds: float) -> None:
        """Refuse every call (except getUpdates) for ``seconds`` from now."""
        self._storm_until = max(self._storm_until, self._clock() + seconds)

    def refused(self, chat_id: int | None, retry_after: float, kind: str) -> None:
        """A 429 was answered for ``chat_id``: count it and start the chat's cool-down."""
        self.counts[kind] += 1
        if chat_id is not None and kind != "cooldown":
            until = self._clock() + retry_after
            self._chat_cooldown[chat_id] = max(self._chat_cooldown.get(chat_id, until), until)

    # ------------------------------------------------------------------ checks

    def check(
        self,
        chat_id: int | None,
        *,
        sends: bool = True,
        targets: bool = True,
        paid: bool = False,
    ) -> Refusal | None:
        """Whether a call to ``chat_id`` now is refused, and how.

        ``sends``: the call sends a message (it uses up the limits). ``targets``: the call acts
        on the chat's messages (send, edit, delete), so a cool-down of the chat or the bot
        refuses it; other calls are refused only by a storm. ``paid``: a send with
        ``allow_paid_broadcast``, held to ``paid_per_second`` overall instead of
        ``global_per_second``.
        """
        now = self._clock()
        refusal = self._cooling(chat_id, now, targets)
        if refusal is None and sends:
            refusal = self._exceeded(chat_id, now, paid)
        if refusal is not None:
            self.refused(chat_id, refusal.retry_after, refusal.kind)
        return refusal

    def _cooling(self, chat_id: int | None, now: float, targets: bool) -> Refusal | None:
        """A storm, or a cool-down still running from an earlier 429."""
        if self._storm_until > now:
            return Refusal(_seconds(self._storm_until - now), "storm")
        if not targets:
            return None
        until = max(self._bot_cooldown, self._chat_cooldown.get(chat_id or 0, -math.inf))
        if until > now:
            return Refusal(_seconds(until - now), "cooldown")
        return None

    def _exceeded(self, chat_id: int | None, now: float, paid: bool) -> Refusal | None:
        """A limit this send would exceed; the overall one also starts the bot's cool-down."""
        wait = self._global_wait(now, paid)
        if wait is not None:
            retry = self._retry(wait)
            self._bot_cooldown = now + retry
            return Refusal(retry, "paid" if paid else "overall")
        if chat_id is None:
            return None
        wait = self._bucket_wait(chat_id, now)
        if wait is not None:
            return Refusal(self._retry(wait), "chat")
        wait = self._group_wait(chat_id, now) if chat_id < 0 else None
        if wait is not None:
            return Refusal(self._retry(wait), "group")
        return None

    def record(self, chat_id: int | None) -> None:
        """Count a successful send to ``chat_id``."""
        now = self._clock()
        if self.limits.global_per_second is not None or self.limits.paid_per_second is not None:
            _prune(self._global, now - 1.0)
            self._global.append(now)
        if chat_id is None:
            return
        if chat_id < 0 and self.limits.group_per_minute is not None:
            self._groups.setdefault(chat_id, deque()).append(now)
        if self.limits.chat_per_second is not None:
            self._buckets[chat_id] = (self._tokens(chat_id, now) - 1.0, now)

    def _retry(self, wait: float) -> int:
        return max(self.limits.retry_after, _seconds(wait))

    def _global_wait(self, now: float, paid: bool) -> float | None:
        """Overall sliding 1-second window of every send: seconds until it holds fewer than
        the free limit (or, for a paid send, the paid one), if it does not."""
        limit = self.limits.paid_per_second if paid else self.limits.global_per_second
        if limit is None:
            return None
        _prune(self._global, now - 1.0)
        # the window can hold more than a free limit (paid sends filled it): the free limit
        # frees when all but limit - 1 of them have left
        excess = len(self._global) - limit
        return self._global[excess] + 1.0 - now if excess >= 0 else None

    def _group_wait(self, chat_id: int, now: float) -> float | None:
        """Per-group sliding 60-second window: seconds until it frees, if full."""
        limit = self.limits.group_per_minute
        window = self._groups.get(chat_id)
        if limit is None or window is None:
            return None
        _prune(window, now - 60.0)
        return window[0] + 60.0 - now if len(window) >= limit else None

    def _bucket_wait(self, chat_id: int, now: float) -> float | None:
        """Per-chat token bucket: seconds until a token is back, if empty."""
        rate = self.limits.chat_per_second
        if rate is None:
            return None
        tokens = self._tokens(chat_id, now)
        return (1.0 - tokens) / rate if tokens < 1.0 else None

    def _tokens(self, chat_id: int, now: float) -> float:
        """Tokens in a chat's bucket now."""
        rate = float(self.limits.chat_per_second or 0)
        capacity = float(max(self.limits.chat_burst, 1))
        tokens, last = self._buckets.get(chat_id, (capacity, now))
        return min(capacity, tokens + (now - last) * rate)


def _seconds(wait: float) -> int:
    """Whole seconds Telegram would answer for a wait (at least 1)."""
    return max(1, math.ceil(wait))


def _prune(window: deque[float], older_than: float) -> None:
    """Drop timestamps that left the window."""
    while window and window[0] <= older_than:
        window.popleft()
