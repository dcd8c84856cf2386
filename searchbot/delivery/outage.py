"""Telegram out of reach as a whole, told apart from one chat's trouble.

A timeout or a 5xx for one message is that message's problem: it is retried with back-off and
given up after ``SEARCHBOT_MAX_ATTEMPTS``. The same for several messages in a row, with no answer
from Telegram in between, is Telegram's (or the network's) problem: then no message should use
up its attempts, and no send should go but one probe at a time. What was held back goes when a
probe gets an answer, in the outbox's order (people first, nearest groups first) and at the
limit, and the officers hear once that delivery was late.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DOWN_AFTER = 3  # transient failures in a row, with no answer between, that mean Telegram is down
PROBE_EVERY = 1.0  # seconds between probes while it is down (a probe is one message)
LATE_AFTER = 10.0  # an outage at least this long is told to the officers when it ends


class Outage:
    """Counts transient failures in a row; while Telegram is down, lets one probe go at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._in_a_row = 0
        self._since: float | None = None  # the first failure of the row, once it counts as down
        self._first_failure = 0.0
        self._next_probe = 0.0
        self._probing = False

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, started: float) -> bool:
        """A send started at ``started`` (this clock) timed out or got a 5xx; True if Telegram
        counts as down now (the row keeps its attempts and waits for the outage's end). The
        outage is counted from the start of its first failed call: a timeout says so late."""
        now = self._clock()
        if self._in_a_row == 0:
            self._first_failure = started
        self._in_a_row += 1
        self._probing = False
        if self._since is None and self._in_a_row >= DOWN_AFTER:
            self._since = self._first_failure
        if self._since is not None:
            self._next_probe = now + PROBE_EVERY
        return self._since is not None

    def answered(self) -> float | None:
        """Telegram answered a send (sent, refused, 429: it is there). Returns how long it was
        out of reach when that was long enough to tell the officers, else None."""
        since, self._since = self._since, None
        self._in_a_row, self._probing = 0, False
        if since is None:
            return None
        lasted = self._clock() - since
        return lasted if lasted >= LATE_AFTER else None

    def wait(self) -> float:
        """Seconds before anything may be sent: 0 when Telegram is up or a probe may go now."""
        if self._since is None:
            return 0.0
        if self._probing:
            return PROBE_EVERY  # the probe in the air ends this wait (the dispatcher wakes)
        return max(0.0, self._next_probe - self._clock())

    def probe(self) -> None:
        """The one send that goes while Telegram is down has started."""
        self._probing = True
