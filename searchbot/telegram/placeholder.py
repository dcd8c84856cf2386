"""The neutral picture that takes an alert photo's place when Telegram will not delete it.

Telegram refuses to delete a message sent 48 hours ago or more; the bot can still edit it, so
the child's photo is swapped for this picture (shipped with the project). It is uploaded once;
its file id is kept in ``bot_state`` and every later swap sends the id.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from searchbot.domain.clock import Clock, system_clock
from searchbot.models import BotState
from searchbot.models.db import Sessions

PICTURE = Path(__file__).with_name("placeholder.png")
KEY = "placeholder_file_id"


@cache
def picture() -> bytes:
    return PICTURE.read_bytes()


class PlaceholderStore:
    """Where the placeholder's file id is kept between uploads (and restarts)."""

    def __init__(self, sessions: Sessions, clock: Clock = system_clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def file_id(self) -> str | None:
        async with self._sessions() as session:
            row = await session.get(BotState, KEY)
            return row.value if row else None

    async def remember(self, file_id: str) -> None:
        """Keep ``file_id`` (replacing one Telegram no longer knows)."""
        async with self._sessions() as session:
            row = await session.get(BotState, KEY)
            row = row or BotState(key=KEY, value=file_id, updated_at=self._clock())
            row.value, row.updated_at = file_id, self._clock()
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:  # another process kept its upload first: as good as ours
                await session.rollback()
