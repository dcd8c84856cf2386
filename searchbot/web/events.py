"""What changed, for the live page: every change the page draws (a ring going out, a
sighting, a "checked" click, a verification, a judgement, a closing, a group approved or gone)
writes an audit entry in the transaction that makes it. One watcher reads the entries newer
than the last it saw (a primary-key range: cheap) twice a second while anybody is watching,
and tells each open stream which cases changed; the page then fetches the case again.

Reading the log rather than hooking each use case keeps the command room out of their code, and
sees changes made by another process (a second bot instance, ``searchbot`` CLI) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import func
from sqlmodel import col, select

from searchbot.cases.services import Services
from searchbot.models import AuditEntry

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
WINDOW = 100
CLOSING = -1  # the server is stopping: every stream ends
ALL = 0  # a change not tied to one case (a group approved or gone): every map redraws


class CaseWatch:
    """Fans out "case N changed" to the subscribed streams."""

    def __init__(self, services: Services, poll_seconds: float = POLL_SECONDS) -> None:
        self._services, self._poll = services, poll_seconds
        self._queues: set[asyncio.Queue[int]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last: int | None = None
        self._seen: set[int] = set()

    def subscribe(self) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=256)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="command-room-watch")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[int]) -> None:
        self._queues.discard(queue)

    def close_streams(self) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(CLOSING)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while self._queues:
            try:
                changed = await self._changes()
            except Exception:  # the database is busy or away: try again at the next poll
                log.exception("command room: reading the audit log failed")
                changed = set()
            for case_id in changed:
                for queue in list(self._queues):
                    with contextlib.suppress(asyncio.QueueFull):  # a stuck reader: it refetches
                        queue.put_nowait(case_id)
            await asyncio.sleep(self._poll)

    async def _changes(self) -> set[int]:
        async with self._services.sessions() as session:
            if self._last is None:
                newest = (await session.exec(select(func.max(AuditEntry.id)))).one()
                self._last = int(newest or 0)
                window = select(AuditEntry.id).where(col(AuditEntry.id) > self._last - WINDOW)
                self._seen = {int(i or 0) for i in (await session.exec(window)).all()}
                return set()
            # a window behind the newest id seen: on PostgreSQL a smaller id can commit later
            query = select(AuditEntry.id, AuditEntry.case_id).where(
                col(AuditEntry.id) > self._last - WINDOW
            )
            rows = [row for row in (await session.exec(query)).all() if row[0] not in self._seen]
        for row in rows:
            self._seen.add(row[0] or 0)
        if rows:
            self._last = max(self._last, *(row[0] or 0 for row in rows))
            self._seen = {i for i in self._seen if i > self._last - WINDOW}
        return {row[1] if row[1] is not None else ALL for row in rows}
