"""What tests hold of the fake Bot API: the call log, violations, waiting helpers, controls.

:class:`Harness` is the base of :class:`~fakegram.server.FakeBotApi`: the world plus the record
of every call the bot made (``calls``, ``violations``, the 429s by kind), the helpers a test
waits with (``wait_for``, ``wait_idle``, ``wait_call``, with a readable ``report`` on timeout)
and the switches it turns (``fail_next``, ``limit``, ``storm``, ``outage``).  The HTTP side that fills the
record is in ``server.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from .limits import Limits, RateLimiter
from .methods import BotApiMethods
from .objects import ApiCall
from .spec import BotApiSpec, load_spec
from .stars import StarsValue
from .world import ChatRef, World

__all__ = ["Harness"]

JsonDict = dict[str, Any]


def _describe_predicate(predicate: Callable[[], Any]) -> str:
    """Source of a lambda or the name of a function, for timeout messages."""
    name = getattr(predicate, "__name__", repr(predicate))
    if name != "<lambda>":
        return name
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return repr(predicate)


def _format_call(call: ApiCall) -> str:
    """One line per call for timeout reports."""
    params = ", ".join(
        f"{key}={value!r}"[:60] for key, value in call.params.items() if key != "reply_markup"
    )
    status = "ok" if call.ok else f"{call.error_code} {call.description}"
    return f"  {call.method}({params}) -> {status}"


class Harness(World):
    """The fake Telegram world plus the record of the bot's calls and the tests' controls."""

    def __init__(
        self,
        token: str,
        bot_username: str,
        limits: Limits | None,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(token, bot_username)
        self.limits = limits or Limits()
        self.spec: BotApiSpec = load_spec()
        self.calls: list[ApiCall] = []
        self.violations: list[str] = []
        self.upload_count = 0
        self.uploaded_bytes = 0
        self.count_429 = 0
        self._api = BotApiMethods(self)
        self._limiter = RateLimiter(self.limits, clock)
        self._failures: dict[int, deque[int]] = {}
        self._allowed_updates: frozenset[str] | None = None
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._call_signal = asyncio.Event()  # set (and replaced) when a call ends
        self.webhook_answers: list[int] = []
        # chat -> the most calls to it that were in progress at the same time
        self.most_in_flight: dict[int, int] = {}
        self._chat_in_flight: Counter[int] = Counter()
        # An outage (``outage()``): until when every call fails, and whether it hangs first.
        self._outage_until = -1.0
        self._outage_stalls = False

    @property
    def commands(self) -> dict[tuple[str, str], JsonDict]:
        """Last setMyCommands params keyed by (scope JSON with sorted keys, language_code).

        The default scope is ``'{"type": "default"}'``, no language is ``""``.
        """
        return self._api.commands

    @property
    def webhook_url(self) -> str:
        """URL of the webhook the bot set ("" when polling)."""
        return self._api.webhook_url

    def fail_next(self, chat: ChatRef, status: int = 502, count: int = 1) -> None:
        """Make the next ``count`` send*/edit*/delete* calls to ``chat`` answer ``status``.

        sendChatAction is not affected.  A 429 carries ``retry_after``.
        """
        chat_id = chat if isinstance(chat, int) else self.chat(chat).chat_id
        self._failures.setdefault(chat_id, deque()).extend([status] * count)

    def limit(self, limits: Limits) -> None:
        """Switch to other limits from now on (what was sent so far still counts)."""
        self.limits = limits
        self._limiter.limits = limits

    def storm(self, seconds: float) -> None:
        """Refuse every call but getUpdates with 429 for ``seconds`` (Telegram in a flood)."""
        self._limiter.storm(seconds)

    def outage(self, seconds: float, *, stall: bool = False) -> None:
        """Telegram unreachable for ``seconds`` from now: every call, getUpdates included, is
        answered 502 Bad Gateway at once, or with ``stall`` hangs until the outage is over and
        then gets the 502 (a client that gives up first sees a timeout). Either way the call is
        not carried out: nothing is sent, no update is handed out or confirmed."""
        self._outage_until = time.monotonic() + seconds
        self._outage_stalls = stall

    def outage_left(self) -> float:
        """Seconds of the outage still to run (0 when Telegram is reachable)."""
        return max(0.0, self._outage_until - time.monotonic())

    @property
    def count_429_by_kind(self) -> dict[str, int]:
        """Responses 429 so far by kind: chat, group, overall, paid, cooldown, storm, injected."""
        return dict(self._limiter.counts)

    @property
    def stars(self) -> float:
        """The bot's Telegram Stars balance (what getMyStarBalance answers); settable, e.g.
        ``fake.stars = 10_500``. Paid broadcasts take 0.1 Star a message from it."""
        return self.star_ledger.stars

    @stars.setter
    def stars(self, value: StarsValue) -> None:
        self.star_ledger.stars = value

    @property
    def stars_spent(self) -> float:
        """Stars paid broadcasts took so far (exact: ``star_ledger.spent_nanostars``)."""
        return self.star_ledger.spent

    @property
    def paid_calls(self) -> list[ApiCall]:
        """Sends with allow_paid_broadcast that went through and were charged."""
        return [call for call in self.calls if call.paid]

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method."""
        return [call for call in self.calls if call.method == method]

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02
    ) -> Any:
        """Poll ``predicate`` (sync or async) until it returns something truthy; return it.

        Raises AssertionError with the state of the fake and its recent calls on timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(
                    self.report(
                        f"wait_for({_describe_predicate(predicate)}) timed out after {timeout}s"
                    )
                )
            await asyncio.sleep(interval)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every update was fetched and no call arrived for ``quiet`` seconds.

        getUpdates does not count as activity; calls still in progress do.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            idle_for = now - self._last_activity
            if self._inflight == 0 and self.updates_consumed and idle_for >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    self.report(f"wait_idle(quiet={quiet}) timed out after {timeout}s")
                )
            await asyncio.sleep(min(max(quiet - idle_for, 0.005), 0.02))

    async def wait_call(self, timeout: float) -> bool:
        """Wait until a call other than getUpdates ends, for at most ``timeout`` seconds;
        True if one did. A test waiting for the bot to send what it still holds wakes up when
        something was sent, instead of asking the bot again and again."""
        signal = self._call_signal
        try:
            async with asyncio.timeout(timeout):
                await signal.wait()
        except TimeoutError:
            return False
        return True

    def report(self, headline: str, tail: int = 12) -> str:
        """Human-readable state of the fake: pending updates, violations, recent calls."""
        calls = [c for c in self.calls if c.method != "getUpdates"][-tail:]
        lines = [
            headline,
            f"pending updates: {self.pending_update_count} "
            f"(all fetched: {self.updates_consumed}); calls in progress: {self._inflight}",
        ]
        if self.dropped_updates:
            lines.append(
                f"{len(self.dropped_updates)} updates dropped because allowed_updates="
                f"{sorted(self._allowed_updates or [])}"
            )
        if self.violations:
            lines.append("violations:")
            lines.extend(f"  {v}" for v in self.violations[-tail:])
        if self.star_ledger.paid_messages:
            lines.append(
                f"paid broadcasts: {self.star_ledger.paid_messages} messages, "
                f"{self.stars_spent} Stars spent, {self.stars} left"
            )
        lines.append(f"last {len(calls)} calls (getUpdates omitted):")
        lines.extend(_format_call(c) for c in calls)
        return "\n".join(lines)
