"""Updates are handled one after another where their order matters, and concurrently elsewhere.

A parent who sends two photos in a row, or taps Confirm twice, must not have both handled at
once against the same dialogue row: updates from one chat wait for each other. A crowd is the
exception: presses ``independent`` picks out (e.g. "Checked — not here") in a group
wait only for the same person's earlier presses there, not for the other members'; the use
case behind them is safe to run concurrently.

Waiting for one's turn takes no running slot: ``running`` bounds the updates actually being
handled, so forty presses queued in one group cannot hold back a family in another chat. A
crowd's presses take at most half of the slots, and only ``BESIDE_OTHERS`` of them while any
other update is being handled: on one event loop every step of a report's Confirm or of a
sighting queues behind the steps of whatever else runs, so the crowd steps aside for the
individual conversations and takes the loop back as soon as they are done. Crowd presses get
their slots first come, first served, one wake-up per freed slot (hundreds of them wait at
once in a burst: waking them all at every change would cost more than handling them).

Most of a crowd no longer comes here: a press on the alert's own button outside an officers'
group is handled as its update is read (``searchbot.handlers.presses``). The rest (forged data,
presses in officers' groups) still does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

WAITING = 4096  # updates taken from Telegram but not finished (PTB's own bound)
BESIDE_OTHERS = 4  # crowd presses handled at once while another update is being handled


class ChatOrderedUpdates(BaseUpdateProcessor):
    def __init__(
        self, running: int, independent: Callable[[str | None], bool] = lambda data: False
    ) -> None:
        super().__init__(max(WAITING, running))
        self._running = asyncio.Semaphore(running)
        self._crowd_max = max(1, running // 2)
        self._crowd_running = 0
        self._others_running = 0
        self._crowd_waiting: deque[asyncio.Future[None]] = deque()  # first come, first served
        self._independent = independent
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}
        self._in_flight = 0
        # Told of each update once it is done, handled or failed (the poller confirms it then).
        self.finished: Callable[[object], None] | None = None

    @property
    def in_flight(self) -> int:
        """Updates being handled now, or waiting for their turn."""
        return self._in_flight

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        self._in_flight += 1
        try:
            await self._in_order(self.order_key(update), coroutine)
        finally:
            self._in_flight -= 1
            if self.finished is not None:
                self.finished(update)

    def order_key(self, update: object) -> Hashable | None:
        """What this update must wait for: its chat, a (chat, person) for an independent press
        in a group, or nothing (no chat at all)."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            return None
        query = update.callback_query if isinstance(update, Update) else None
        if query is not None and chat.type != ChatType.PRIVATE and self._independent(query.data):
            return (chat.id, query.from_user.id)
        return chat.id

    async def _in_order(self, key: Hashable | None, coroutine: Awaitable[Any]) -> None:
        if key is None:
            async with self._running:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slot(crowd=isinstance(key, tuple)), self._running:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # forget idle keys: the map stays small
                del self._users[key], self._locks[key]

    @contextlib.asynccontextmanager
    async def _slot(self, crowd: bool) -> AsyncIterator[None]:
        """A crowd's press waits for a crowd slot (fewer while others are handled); anything
        else only counts itself in, so the crowd knows to step aside."""
        if crowd:
            await self._crowd_slot()
        else:
            self._others_running += 1
        try:
            yield
        finally:
            if crowd:
                self._crowd_running -= 1
            else:
                self._others_running -= 1
            self._admit()

    async def _crowd_slot(self) -> None:
        """Take a crowd slot: at once if one is free and nobody waits, else in turn (the slot
        is counted by whoever hands it over)."""
        if not self._crowd_waiting and self._crowd_running < self._crowd_limit():
            self._crowd_running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._crowd_waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a slot just now: pass it on
                self._crowd_running -= 1
                self._admit()
            else:
                with contextlib.suppress(ValueError):  # _admit may have dropped it already
                    self._crowd_waiting.remove(turn)
            raise

    def _admit(self) -> None:
        """Hand the free crowd slots to the presses waiting longest."""
        while self._crowd_waiting and self._crowd_running < self._crowd_limit():
            turn = self._crowd_waiting.popleft()
            if not turn.done():
                self._crowd_running += 1
                turn.set_result(None)

    def _crowd_limit(self) -> int:
        return min(BESIDE_OTHERS, self._crowd_max) if self._others_running else self._crowd_max

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
