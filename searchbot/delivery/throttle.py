"""Telegram's sending limits, kept before a call rather than discovered by 429s.

Overall: a current rate, at most the configured limit (handlers' replies are outbox rows too;
the rare direct upload is counted once sent), in any sliding second. A call counts in that
second from its start until a second after its end, less most of the quickest round trip (see
``slot_done``): the server counted it at some moment in between, and the next call no earlier
than its own start plus its way there, so no second of the server's holds more calls than the
bot allowed in one of its own (counting to a second after the end, the round trip itself was
the price: at 30 ms a call, 30 a second became about 29). A send goes as soon as the sliding
second has room for it, at least ``SPREAD`` of the even spacing after the one before: the
first second's sends are spread over 80 % of it, and each later send takes the place of the
one that leaves the second, so the spread repeats itself second after second (a sighting waits
some 30 ms for its place, 0.25 s at most) and a late send delays only the one that takes its
place a second later. An even pace kept apart from the second (as before) lost every late
wake-up of the event loop for good: 28 sends a second instead of 29 on a busy machine.

Per chat, people and groups alike: a token bucket of about one message a second holding a short
burst (three); groups also 20 a minute (sliding window). A chat's bucket and window are counted
from the moment a send *ended*: Telegram counts a message when it arrives, and the next one to
the same chat starts only after it (one in flight per chat), so the server never sees two
messages closer together than the bot planned. Replies the handlers send directly count too.

Paid broadcast: a row sent with ``allow_paid_broadcast`` takes a paid slot, held to
``paid_per_second`` (1,000) in the same sliding second, counted the same way; it has no even
spacing of its own. Telegram counts free and paid sends together, so a free send needs a second
holding fewer than 30 sends of any kind: during a paid burst there is none, however the paid
sends are spaced. People's messages (free) therefore take turns with the burst: the burst sends
for at least ``PAID_TURN``; then a person's message waits for the second to empty (about a
second), goes, and the people's messages of the next ``FREE_TURN`` go with it; then the burst
again. A free call on its way holds paid sends under the free limit until it has ended, or
Telegram could count it as the 31st.

429s: a chat that got one is paused until its retry_after. 429s for several different chats
within a short time mean the bot as a whole is over the overall limit (Telegram then refuses
every chat until retry_after): every send pauses, and the rate drops by 30 %, then climbs back
by three messages a second each second (multiplicative decrease, additive increase: a one-off
429 costs about a second, a limit really lower than configured is found in a few steps).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

SPREAD = 0.8  # sends at least this fraction of the even spacing apart
CALL_MEAN_WEIGHT = 0.1  # of the newest call in the running mean of how long a call takes
BURST = 3.0  # a chat takes this many messages at once, then about one a second
GROUP_WINDOW = 60.0
OVERALL_WINDOW = 2.0  # 429s for different chats within this many seconds: the overall limit
OVERALL_CHATS = 2  # ... from at least this many chats
DECREASE = 0.7  # the rate is multiplied by this on an overall 429
INCREASE = 3.0  # messages a second added back each second without one (30/s again in 3 s)
ROOM = 0  # places kept for direct sends: only rare uploads are direct, and they wait out a 429
MIN_RATE = 1.0
POLL = 0.01  # how often a full second of calls still in flight is looked at again
AHEAD = 3  # slots taken ahead of their calls (each waits for its row's claim)
PAID_TURN = 1.0  # a paid burst sends at least this long between two turns of people's messages
FREE_TURN = 0.25  # a turn of people's messages during a paid burst, from the first one's slot
COUNTED_SHARE = 0.8  # of the quickest round trip, credited to every call (see ``slot_done``)
CREDIT_MAX = 0.1  # seconds at most: a slow server says less about where it counts a call
QUICKEST_OF = 100  # calls, the last of which say how quick a round trip is now
PAID_AHEAD = 32  # the same for paid slots (their rows are claimed beforehand, in chunks)


class Throttle:
    """The bookkeeping of the dispatcher's pace; time comes from ``now`` (injectable)."""

    def __init__(
        self,
        per_second: float,
        group_per_minute: int,
        chat_per_second: float,
        now: Callable[[], float] = time.monotonic,
        burst: float = BURST,
        paid_per_second: int = 0,
    ) -> None:
        self.limit = per_second
        self.paid_limit = paid_per_second
        self._now = now
        self._rate, self._rate_at = per_second, now()
        self._recent: deque[float] = deque()  # ends of the calls of the last second
        self._reserved = 0  # slots taken, calls not started
        self._free_pending = 0  # free slots taken whose calls have not ended
        self._last_paid = -math.inf  # when the last paid slot was taken
        self._paid_since = -math.inf  # when the paid burst began, or came back after a turn
        self._free_until = -math.inf  # paid slots wait until then: people's free turn
        self._last_slot = -math.inf
        self._started: deque[float] = deque()  # starts of the calls in the air, oldest first
        self._call_seconds = 0.0  # how long a call takes, a running mean
        self._recent_calls: deque[float] = deque(maxlen=QUICKEST_OF)  # how long they took
        self._credit_s = 0.0  # of a call's end, see ``slot_done``
        self._paused_all = -math.inf
        self._group_count = group_per_minute
        self._chat_rate, self._burst = chat_per_second, burst
        self._tokens: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._sent: dict[int, deque[float]] = {}  # group -> times of its messages
        self._paused: dict[int, float] = {}
        self._refusals: deque[tuple[float, int]] = deque()  # (when, chat) of recent 429s
        self.overall_429s = 0

    # ----------------------------------------------------------------- overall

    def rate(self) -> float:
        """The overall rate now: climbing back after a decrease, at most the limit."""
        now = self._now()
        climbed = self._rate + max(0.0, now - self._rate_at) * INCREASE
        return min(self.limit, climbed)

    def slot_wait(self) -> float:
        """Seconds until the next overall sending slot (0 if now): room in the sliding second
        (slots not yet called included), ``SPREAD`` of the even spacing after the last slot,
        and at most ``AHEAD`` slots taken whose calls have not started (a stalled database
        must not pile up a burst)."""
        now = self._now()
        window = self._window_wait(now, self._reserved)  # (drops the calls a second old)
        wait = max(self._paused_all - now, self._last_slot + self._spacing() - now)
        if self._reserved >= AHEAD:
            wait = max(wait, POLL)
        return max(wait, window)

    def paid_slot_wait(self) -> float:
        """Seconds until the next paid slot (0 if now): room for one more in the sliding second
        at the paid limit (every call, free or paid, counted), and at most ``PAID_AHEAD``
        slots taken whose calls have not started."""
        now = self._now()
        # While a free call is on its way, the second must stay under the free limit until
        # Telegram has counted it: paid sends let in meanwhile would make it one too many.
        limit = self.paid_limit if not self._free_pending else None
        wait = max(self._paused_all - now, self._window_wait(now, self._reserved, limit))
        if self._reserved >= PAID_AHEAD:
            wait = max(wait, POLL)
        return max(wait, self._free_until - now)

    def take_paid_slot(self) -> None:
        """Use the paid slot ``paid_slot_wait`` said is free (then as for a free slot)."""
        now = self._now()
        self._reserved += 1
        if not self._in_burst(now) or self._last_paid < self._free_until <= now:
            self._paid_since = now  # a burst begins, or comes back after people's turn
        self._last_paid = now

    def free_turn_wait(self) -> float:
        """Seconds a person's (free) message waits for its turn in a paid burst: 0 with no
        burst going or in a turn, else until the burst has sent for ``PAID_TURN``."""
        now = self._now()
        if not self._in_burst(now) or now < self._free_until:
            return 0.0
        return max(0.0, self._paid_since + PAID_TURN - now)

    def free_turn_left(self) -> float:
        """Seconds left of people's turn in a paid burst (0: the burst may go on)."""
        return max(0.0, self._free_until - self._now())

    def bursting(self) -> bool:
        """A paid burst goes on: a paid slot was taken within the last second."""
        return self._in_burst(self._now())

    def _in_burst(self, now: float) -> bool:
        return now - self._last_paid <= 1.0

    def take_slot(self) -> None:
        """Use the slot ``slot_wait`` said is free; then ``call_wait`` and ``call_started``
        right before the call, ``slot_done`` when it has ended (or ``slot_unused``)."""
        now = self._now()
        self._reserved += 1
        self._free_pending += 1
        self._last_slot = now
        if self._in_burst(now) and now >= self._free_until:  # people's turn in a paid burst
            self._free_until = now + FREE_TURN

    def call_wait(self, paid: bool = False) -> float:
        """Seconds before a call whose slot was taken may start: the sliding second, counted
        again at the very moment of the call (a slot may have waited for the database)."""
        limit = self.paid_limit if paid else None
        return max(self._paused_all - self._now(), self._window_wait(self._now(), 0, limit))

    def call_started(self) -> None:
        self._reserved = max(0, self._reserved - 1)
        self._started.append(self._now())

    def slot_done(self, paid: bool = False, timed: bool = True) -> None:
        """The call of a slot has ended. It stays in the sliding second until a second after its
        end, less ``COUNTED_SHARE`` of the quickest of the last ``QUICKEST_OF`` calls (at most
        ``CREDIT_MAX``). The server counted it at some moment between its start and its end,
        and counts the next call after that one's start:
        a call that starts a second after another's end less a round trip is counted a second
        after it, wherever in each call the counting happens, as long as the two halves of
        different calls add up to about one call (a round trip varies less than a fifth).
        Crediting none of it (as before) cost the round trip itself: 30 a second became 29.
        ``timed``: False for a slot whose call was not made after all (its officer removed
        meanwhile): it ended at once and says nothing of the round trip.

        Paid calls get no credit and are not measured: a burst of a thousand a second keeps
        both the server and this event loop queueing, and where in a call the queueing happens
        (before the server counts it or after) is unknown. Credited, the burst's last calls left
        the second before Telegram let them go, and the free send after the burst got a 429."""
        now = self._now()
        if not paid:
            self._free_pending = max(0, self._free_pending - 1)
        started = self._started.popleft() if self._started else None
        if started is not None and timed:  # calls end about in the order they started
            took = now - started
            self._call_seconds += CALL_MEAN_WEIGHT * (took - self._call_seconds)
            if not paid:
                self._recent_calls.append(took)
                self._credit_s = COUNTED_SHARE * min(min(self._recent_calls), CREDIT_MAX)
        counted = now - (0.0 if paid else self._credit_s)
        # kept in order: the window's arithmetic reads its oldest and its newest
        self._recent.append(max(counted, self._recent[-1]) if self._recent else counted)

    def slot_unused(self, paid: bool = False) -> None:
        """A slot taken for a call that was not made after all."""
        self._reserved = max(0, self._reserved - 1)
        if not paid:
            self._last_slot -= self._spacing()  # the next need not keep its distance from it
            self._free_pending = max(0, self._free_pending - 1)

    def _spacing(self) -> float:
        """The least time between two slots: ``SPREAD`` of the even spacing the sliding second
        sustains (a call holds its place in it for a second and its own length, less the
        credit of ``slot_done``)."""
        return SPREAD * (1.0 + self._call_seconds - self._credit_s) / self.rate()

    async def global_slot(self) -> None:
        """Wait for the next overall sending slot and take it."""
        while (wait := self.slot_wait()) > 0:
            await asyncio.sleep(wait)
        self.take_slot()

    async def paid_slot(self) -> None:
        """Wait for the next paid sending slot and take it."""
        while (wait := self.paid_slot_wait()) > 0:
            await asyncio.sleep(wait)
        self.take_paid_slot()

    async def call_slot(self, paid: bool = False) -> None:
        """Wait until the call of a taken slot may start, and start it."""
        while (wait := self.call_wait(paid)) > 0:
            await asyncio.sleep(wait)
        self.call_started()

    def _window_wait(self, now: float, extra: int, limit: int | None = None) -> float:
        """Seconds until the sliding second has room for one more call besides ``extra``
        (``limit``: the paid one instead of the free rate)."""
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        room = self._room(extra, limit)
        if room > 0:
            return 0.0
        # The calls that ended leave first, the oldest first: room for one more once 1 - room
        # of them have left (after a paid burst, a free send waits for a thousand to leave).
        # Only with too few of them must a call in the air (or a slot) end first.
        if len(self._recent) < 1 - room:
            return POLL
        return self._recent[-room] + 1.0 - now

    def _room(self, extra: int, limit: int | None = None) -> int:
        """Places left in the sliding second: the calls in the air, ``extra`` slots taken and
        the calls that ended within the second hold one each."""
        held = len(self._started) + extra + len(self._recent)
        if limit is None:
            limit = max(1, math.floor(self.rate()) - ROOM)
        return limit - held

    # ---------------------------------------------------------------- per chat

    def wait_for_chat(self, chat_id: int) -> float:
        """Seconds until ``chat_id`` may receive another message (0 if now)."""
        now = self._now()
        wait = max(self._paused.get(chat_id, 0.0), self._paused_all) - now
        tokens = self._chat_tokens(chat_id, now)
        if tokens < 1.0:
            wait = max(wait, (1.0 - tokens) / self._chat_rate)
        if chat_id < 0:
            history = self._window(chat_id, now)
            if history and len(history) >= self._group_count:
                wait = max(wait, history[-self._group_count] + GROUP_WINDOW - now)
        return max(wait, 0.0)

    def blocked_chats(self) -> dict[int, float]:
        """Every chat that may not receive a message now, with seconds until it may."""
        chats = set(self._paused) | set(self._sent) | set(self._tokens)
        blocked = {chat: self.wait_for_chat(chat) for chat in chats}
        self._forget_idle()
        return {chat: wait for chat, wait in blocked.items() if wait > 0}

    def record(self, chat_id: int) -> None:
        """A message to ``chat_id`` is about to be sent: it uses a token (and a group's minute)."""
        now = self._now()
        self._tokens[chat_id] = (self._chat_tokens(chat_id, now) - 1.0, now)
        if chat_id < 0:
            self._sent.setdefault(chat_id, deque()).append(now)

    def unrecord(self, chat_id: int) -> None:
        """Take back the newest ``record`` (the message was not sent after all)."""
        tokens, at = self._tokens.get(chat_id, (self._burst, self._now()))
        self._tokens[chat_id] = (min(self._burst, tokens + 1.0), at)
        history = self._sent.get(chat_id)
        if history:
            history.pop()

    def settle(self, chat_id: int) -> None:
        """The send ``record`` counted has ended: count the chat's pace from now (the server
        counted the message when it arrived, later than when the bot started sending it)."""
        now = self._now()
        tokens, _ = self._tokens.get(chat_id, (self._burst, now))
        self._tokens[chat_id] = (tokens, now)
        history = self._sent.get(chat_id)
        if history:
            history[-1] = max(history[-1], now)

    def record_direct(self, chat_id: int) -> None:
        """A message sent outside the dispatcher (a handler's reply): it still counts, but a
        conversation must not run up a debt that keeps the person's next message waiting."""
        now = self._now()
        self._recent.append(now)
        self._tokens[chat_id] = (max(0.0, self._chat_tokens(chat_id, now) - 1.0), now)
        if chat_id < 0:
            self._sent.setdefault(chat_id, deque()).append(now)

    # --------------------------------------------------------------------- 429

    def throttled(self, chat_id: int, seconds: float) -> bool:
        """A 429 for ``chat_id``: nothing more to it for ``seconds``. Returns True when 429s
        for several chats at once show the overall limit: then every send pauses and the
        rate drops (once per pause: the 429s of sends already in the air add nothing)."""
        now = self._now()
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), now + seconds)
        self._refusals.append((now, chat_id))
        while self._refusals and self._refusals[0][0] < now - OVERALL_WINDOW:
            self._refusals.popleft()
        if len({chat for _, chat in self._refusals}) < OVERALL_CHATS:
            return False
        if self._paused_all <= now:  # a new overall event, not the echo of the last one
            self._rate = max(MIN_RATE, self.rate() * DECREASE)
            self.overall_429s += 1
        self._paused_all = max(self._paused_all, now + seconds)
        self._rate_at = self._paused_all  # climb back only once the pause is over
        return True

    def paused_all(self) -> float:
        """Seconds every send still waits after an overall 429 (0 if none)."""
        return max(0.0, self._paused_all - self._now())

    # ---------------------------------------------------------------- internals

    def _chat_tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._tokens.get(chat_id, (self._burst, now))
        return min(self._burst, tokens + max(0.0, now - at) * self._chat_rate)

    def _window(self, chat_id: int, now: float) -> deque[float] | None:
        history = self._sent.get(chat_id)
        while history and history[0] <= now - GROUP_WINDOW:
            history.popleft()
        return history

    def _forget_idle(self) -> None:
        """Drop chats whose limits have all recovered (the dicts would grow without end)."""
        now = self._now()
        for chat in [c for c, until in self._paused.items() if until <= now]:
            del self._paused[chat]
        for chat in [c for c in self._tokens if self._chat_tokens(c, now) >= self._burst]:
            del self._tokens[chat]
        for chat in [c for c in self._sent if not self._window(c, now)]:
            del self._sent[chat]
