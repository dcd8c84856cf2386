"""Long polling for the leading instance, confirming an update to Telegram only once handled.

Telegram forgets an update when a later getUpdates asks from an ``offset`` past it.
python-telegram-bot's Updater asks for the next batch as soon as it has queued one (so a batch
is confirmed before it is handled) and, when stopped, asks once more to confirm whatever it
fetched. An update whose handling failed because the database was out of reach would be lost.

This poller asks from the oldest update not yet handled. Updates it already holds come back
with the next batch and are skipped; one whose handling failed for want of the database is
handed over again once the database answers (at most ``MAX_TRIES`` times). While updates are
being handled it asks without waiting (``timeout=0``) and only once some of them are done, so
that what was handled is confirmed at once and the next updates are fetched meanwhile.
Stopping (``halt``: the lead was lost) confirms nothing; a graceful ``stop`` confirms what was
handled.

An update handled as it was read (a crowd's press, ``searchbot.handlers.presses``) comes as its
id alone: it is confirmed with the others and handed to no one. A poll brings at most 100
updates (Telegram's default and most), so one still being handled holds back those more than
99 behind it until it is done.

One instance polls at a time (the leader): a second poll would end the first with 409 Conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, TelegramError
from telegram.ext import ApplicationHandlerStop

from searchbot.delivery.leadership import database_unreachable
from searchbot.telegram.lean_updates import handled

log = logging.getLogger(__name__)

MAX_TRIES = 3  # handlings of one update that failed for want of the database, before giving up
FETCH_AHEAD = 0.05  # seconds the next poll waits for the updates in hand to be done
RECHECK = 0.2  # seconds to wait for progress when a poll brought nothing new
RETRY = (1.0, 2.0, 4.0, 5.0)  # seconds before asking Telegram again after a failed poll
STOP_WAIT = 5.0  # seconds a graceful stop waits for updates in hand before confirming


class Poller:
    """getUpdates on behalf of the leader; ``finished`` and ``note_error`` are told by the
    update processor and PTB's error handlers how each handed update ended."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        timeout: int,
        allowed_updates: Sequence[str],
        database_ok: Callable[[], Awaitable[bool]],
    ) -> None:
        self._bot, self._queue, self._timeout = bot, queue, timeout
        self._allowed, self._database_ok = list(allowed_updates), database_ok
        self._next = 0  # one past the newest update seen (the offset when none is open)
        self._in_hand: set[int] = set()  # handed over, not finished
        self._failing: set[int] = set()  # failed for want of the database, not finished yet
        self._waiting: set[int] = set()  # failed so, to be handed over again
        self._retrying: set[int] = set()  # of those, the ones the database now answers for
        self._tries: dict[int, int] = {}  # handlings that failed so, per update
        self._done: set[int] = set()  # finished, not confirmed yet (skipped when fetched again)
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="poller")

    def halt(self) -> None:
        """Stop polling now, confirming nothing more (this process no longer leads)."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self, confirm: bool = False) -> None:
        """Stop polling; with ``confirm`` (a graceful shutdown while leading), wait a little
        for the updates in hand and confirm those handled."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if confirm:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_WAIT):
                    while self._in_hand:
                        await self._progressed(RECHECK)
            with contextlib.suppress(TelegramError):
                await self._bot.get_updates(offset=self._offset(), timeout=0, limit=1)

    def finished(self, update: object) -> None:
        """The update processor is done with ``update`` (handled, or failed)."""
        update_id = getattr(update, "update_id", None)
        if update_id not in self._in_hand:
            return
        self._in_hand.discard(update_id)
        tries = self._tries.pop(update_id, 0)
        if update_id in self._failing:
            self._failing.discard(update_id)
            if tries + 1 < MAX_TRIES:
                self._tries[update_id] = tries + 1
                self._waiting.add(update_id)
            else:
                log.error("update %s failed %s times; given up", update_id, MAX_TRIES)
                self._done.add(update_id)
        else:
            self._done.add(update_id)
        self._progress.set()

    async def note_error(self, update: object, context: Any) -> None:
        """PTB error handler, the first: an update that failed because the database could not
        be reached is not confirmed; it is handled again once the database answers, and the
        other error handlers (the apology "please try again") are skipped."""
        if not isinstance(update, Update) or update.update_id not in self._in_hand:
            return
        if not database_unreachable(context.error):
            return
        self._failing.add(update.update_id)
        if self._tries.get(update.update_id, 0) + 1 < MAX_TRIES:
            log.warning("update %s: the database could not be reached; handled again once it "
                        "answers", update.update_id)  # fmt: skip
            raise ApplicationHandlerStop

    def _offset(self) -> int:
        """Ask from the oldest update not handled yet: nothing past it is confirmed."""
        open_ = self._in_hand | self._failing | self._waiting
        offset = min(open_) if open_ else self._next
        self._done = {update_id for update_id in self._done if update_id >= offset}
        return offset

    async def _run(self) -> None:
        await self._call_until_answered(self._bot.delete_webhook)  # polling, not a webhook
        failures = 0
        while True:
            if self._waiting - self._retrying:
                await self._until_database()
            if self._in_hand:
                await self._progressed(FETCH_AHEAD)
            try:
                updates = await self._bot.get_updates(
                    offset=self._offset(),
                    timeout=0 if self._in_hand else self._timeout,
                    allowed_updates=self._allowed,
                )
            except TelegramError as error:
                failures += 1
                await self._poll_failed(error, failures)
                continue
            failures = 0
            if not await self._hand_over(updates) and self._in_hand:
                await self._progressed(RECHECK)  # only updates in hand came back

    async def _hand_over(self, updates: Sequence[Update]) -> int:
        """Queue the updates not in hand nor done already; how many of them were new (queued,
        or handled as they were read)."""
        handed = 0
        for update in updates:
            update_id = update.update_id
            self._next = max(self._next, update_id + 1)
            if update_id in self._in_hand or update_id in self._done:
                continue
            if handled(update):  # handled as it was read (a crowd's press): only confirmed
                self._done.add(update_id)
                self._progress.set()
                handed += 1
                continue
            if update_id in self._waiting and update_id not in self._retrying:
                continue  # it failed meanwhile: handed over again once the database answers
            self._in_hand.add(update_id)
            self._waiting.discard(update_id)
            self._retrying.discard(update_id)
            await self._queue.put(update)
            handed += 1
        return handed

    async def _progressed(self, seconds: float) -> None:
        """Wait until an update is done since the last wait (at once if one was meanwhile),
        at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), seconds)
        self._progress.clear()

    async def _until_database(self) -> None:
        """Updates wait to be handled again: ask Telegram for nothing until the database
        answers (asking would bring them back to fail again)."""
        log.warning("%s update(s) wait for the database; polling holds", len(self._waiting))
        while not await self._database_ok():
            await asyncio.sleep(1.0)
        log.warning("the database answers: handling the held updates again")
        self._retrying |= self._waiting

    async def _poll_failed(self, error: TelegramError, failures: int) -> None:
        if isinstance(error, Conflict):  # another process polls: it should not, say so loudly
            log.error("getUpdates refused: %s", error)
        elif failures == 1:
            log.warning("getUpdates failed (%s); trying again", error)
        await asyncio.sleep(RETRY[min(failures, len(RETRY)) - 1])

    @staticmethod
    async def _call_until_answered(call: Callable[[], Awaitable[Any]]) -> None:
        for attempt in itertools.count(1):
            try:
                await call()
                return
            except TelegramError as error:
                if attempt == 1:
                    log.warning("Telegram did not answer (%s); trying again", error)
                await asyncio.sleep(RETRY[min(attempt, len(RETRY)) - 1])
