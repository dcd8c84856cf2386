"""A paid burst's bookkeeping, in bulk: at a thousand sends a second, a commit to claim each
row and another to settle it would be the burst's bottleneck (and the database's).

Paid rows are claimed a chunk at a time (one statement for ``CLAIM_CHUNK`` rows, the next chunk
while the one before goes out), so a crash leaves at most two chunks, the sends in flight and
the sends not yet written back in doubt; the sends that went through are written back together
every ``FLUSH_SECONDS`` or ``FLUSH_ROWS`` rows.
Failures are settled one by one as always (they are few).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence

from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from searchbot.cases.services import Services
from searchbot.delivery.line import Job
from searchbot.models import OutboxMessage, OutboxStatus
from searchbot.models.db import committed_as_run

log = logging.getLogger("searchbot.delivery.dispatcher")

CLAIM_CHUNK = 64  # paid rows claimed by one statement (and one more chunk claimed ahead)
FLUSH_ROWS = 64  # sent rows written back by one transaction, at most
FLUSH_SECONDS = 0.02  # how long a sent row waits for others to be written back with it
RETRY_SECONDS = 1.0  # a write that failed (the database hiccupped) is tried again after this

Sent = tuple[Job, int | None]  # a row that went through, and its message id


async def claim(
    services: Services, jobs: Sequence[Job], fence: Sequence[ColumnElement[bool]] = ()
) -> set[int]:
    """Mark the rows ``sending`` if they are still pending, due and paid, and the ``fence``
    holds (this process still leads); returns the ids this process claimed (another may have
    taken some, or they fell back to free meanwhile). Committed as it runs, like every claim
    (see ``line.claim``)."""
    if not jobs:
        return set()
    async with committed_as_run(services.sessions).begin() as connection:
        claimed = await connection.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([job.id for job in jobs]))
            .where(col(OutboxMessage.status) == OutboxStatus.PENDING)
            .where(col(OutboxMessage.paid).is_(True))
            .where(col(OutboxMessage.next_attempt_at) <= services.now())
            .where(*fence)
            .values(status=OutboxStatus.SENDING)
            .returning(col(OutboxMessage.id))
        )
        ids = {row_id for row_id in claimed.scalars() if row_id is not None}
    return ids


def claim_soon(
    services: Services, jobs: Sequence[Job], fence: Sequence[ColumnElement[bool]] = ()
) -> asyncio.Task[set[int]]:
    """``claim`` started now, to be awaited when its rows are next in line."""
    return asyncio.create_task(claim(services, jobs, fence), name="outbox-paid-claim")


async def release(
    services: Services, ids: Collection[int], fence: Sequence[ColumnElement[bool]] = ()
) -> None:
    """Claimed rows that did not go after all are pending again, if this process still leads
    (the ``fence``): else the new leader's recovery has put them back already, and may be
    sending them."""
    if not ids:
        return
    async with services.sessions() as session:
        await session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(ids)))
            .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
            .where(*fence)
            .values(status=OutboxStatus.PENDING)
        )
        await session.commit()


async def unclaim(
    services: Services,
    ids: Collection[int],
    claiming: asyncio.Task[set[int]],
    fence: Sequence[ColumnElement[bool]] = (),
) -> None:
    """The burst stopped (Telegram out of reach, another leader, a stop): the rows it claimed
    and did not start, and those of the claim still under way, are pending again. If the
    database is gone they stay ``sending`` and the next leader's recovery puts them back."""
    try:
        left = set(ids) | await claiming
    except (Exception, asyncio.CancelledError):  # the claim failed: it took nothing
        left = set(ids)
    try:
        await release(services, left, fence)
    except Exception:
        log.warning("%s claimed paid row(s) stay sending until a leader recovers them", len(left))


class SentBatch:
    """Sends that went through, written back together by ``write``."""

    def __init__(self, write: Callable[[list[Sent]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[Sent] = []
        self._writing = 0  # rows of the write under way
        self._full = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def add(self, job: Job, message_id: int | None) -> None:
        self._waiting.append((job, message_id))
        if len(self._waiting) >= FLUSH_ROWS:
            self._full.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run(), name="outbox-sent-batch")

    @property
    def unwritten(self) -> int:
        """Sends that went through whose rows still say ``sending``."""
        return len(self._waiting) + self._writing

    async def drain(self) -> None:
        """Write back what is waiting (the dispatcher stops)."""
        self._full.set()
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):  # a database that is gone: rows stay sending
                await asyncio.wait_for(asyncio.gather(self._writer, return_exceptions=True), 5)

    async def _run(self) -> None:
        while self._waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), FLUSH_SECONDS)
            self._full.clear()
            batch, self._waiting = self._waiting[:FLUSH_ROWS], self._waiting[FLUSH_ROWS:]
            if len(self._waiting) >= FLUSH_ROWS:
                self._full.set()
            self._writing = len(batch)
            try:
                await self._write(batch)
            except Exception:  # the rows stay ``sending`` until written: try again shortly
                log.exception("writing back %s sent rows failed", len(batch))
                self._waiting = batch + self._waiting
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                self._writing = 0
