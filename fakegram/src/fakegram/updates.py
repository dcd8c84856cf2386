"""The bot's update queue in the fake Telegram cloud: what getUpdates and the webhook hand out.

Each thing people do queues the Update the bot would receive; getUpdates (long polling) and the
webhook pusher in ``server.py`` take them from here and confirm them by offset, as Telegram does.
``allowed_updates`` drops the kinds the bot did not ask for, for good, like Telegram.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections import deque
from typing import Any

from .directory import Directory
from .objects import FakeChat

__all__ = ["UpdateQueue"]

JsonDict = dict[str, Any]


def _update_kind(update: JsonDict) -> str:
    """The payload key of an Update ("message", "callback_query", ...)."""
    return next(key for key in update if key != "update_id")


class UpdateQueue(Directory):
    """Updates queued for the bot, handed out in order and forgotten once confirmed."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self.dropped_updates: list[JsonDict] = []
        self._updates: deque[JsonDict] = deque()
        self._last_update_id = 0
        self._delivered_upto = 0
        self._update_signal = asyncio.Event()

    @property
    def update_signal(self) -> asyncio.Event:
        """Set (and replaced) whenever an update is queued; long polls wait on it."""
        return self._update_signal

    def wake_pollers(self) -> None:
        """Wake every waiting long poll."""
        self._update_signal.set()
        self._update_signal = asyncio.Event()

    def queue_update(self, kind: str, payload: JsonDict) -> JsonDict:
        """Queue an Update of type ``kind`` (a snapshot of ``payload``) for getUpdates."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self.wake_pollers()
        return update

    @property
    def pending_update_count(self) -> int:
        """Updates not confirmed yet."""
        return len(self._updates)

    @property
    def updates_consumed(self) -> bool:
        """True once every queued update has been handed to the bot at least once."""
        return not self._updates or self._updates[-1]["update_id"] <= self._delivered_upto

    def pending_updates(self) -> list[JsonDict]:
        """Unconfirmed updates (for debugging)."""
        return list(self._updates)

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps the last ``-offset``."""
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def take_updates(self, limit: int, allowed: frozenset[str] | None) -> list[JsonDict]:
        """Up to ``limit`` pending updates; those ``allowed`` excludes are dropped for good."""
        if allowed is not None:
            kept: deque[JsonDict] = deque()
            for update in self._updates:
                if _update_kind(update) in allowed:
                    kept.append(update)
                else:
                    self.dropped_updates.append(update)
            self._updates = kept
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
        return batch

    def drop_pending_updates(self) -> None:
        """deleteWebhook/setWebhook with drop_pending_updates."""
        self._updates.clear()

    def _deliver(self, chat: FakeChat, kind: str, payload: JsonDict) -> None:
        """Queue an update unless the bot is no longer in that group."""
        if chat.is_private or not chat.bot_removed:
            self.queue_update(kind, payload)
