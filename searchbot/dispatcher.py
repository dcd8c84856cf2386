"""The dispatcher: drains the outbox to Telegram, people first, nearest groups first, as fast as
Telegram allows and no faster.

Each row is claimed (``pending`` -> ``sending``) by a conditional update before its call, and
settled after it (``sent`` with its message id, back to ``pending`` with a later attempt time,
or ``dead``). A crash leaves at most the in-flight rows in ``sending``; the next start puts them
back to ``pending``, so nothing is lost and duplicates are bounded by what was in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import func, update
from sqlmodel import col, select

from models import Case, Group, Officer, OutboxMessage
from models import queries as q
from searchbot import closing, registration
from searchbot.logs import chat as log_chat
from searchbot.messages import Out
from searchbot.operations import Metrics
from searchbot.outbox import PEOPLE, enqueue
from searchbot.services import FOR_OFFICERS, Services
from searchbot.texts import ref, say
from searchbot.throttle import Throttle
from searchbot.transport import DeliveryError, Gone, Moved, Rejected, Throttled, Transient

log = logging.getLogger(__name__)

CONCURRENCY = 16  # Bot API calls in flight at once (also the bound on duplicates after a crash)
ROUND = 30  # rows looked at per round: about a second of sending at the overall limit
IDLE_WAIT = 0.5
MAX_BACKOFF = 60.0


class Transport(Protocol):
    async def execute(self, chat_id: int, payload: dict[str, Any]) -> int | None: ...


@dataclass(frozen=True)
class Job:
    """A claimed row, detached from any session."""

    id: int
    chat_id: int
    case_id: int | None
    kind: str
    lane: int
    attempts: int
    payload: dict[str, Any]


def _job(row: OutboxMessage) -> Job:
    return Job(row.id or 0, row.chat_id, row.case_id, row.kind, row.lane, row.attempts, row.payload)


class Dispatcher:
    def __init__(
        self,
        services: Services,
        transport: Transport,
        concurrency: int = CONCURRENCY,
        metrics: Metrics | None = None,
    ) -> None:
        settings = services.settings
        self._metrics = metrics or Metrics()
        self._services = services
        self._transport = transport
        self._throttle = Throttle(
            settings.paid_broadcast_rate, settings.group_per_minute, settings.chat_per_second
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def note_direct_send(self, chat_id: int) -> None:
        """A handler answered someone directly: that message counts against the limits."""
        self._throttle.record_direct(chat_id)

    def wake(self) -> None:
        """New rows were enqueued: look again now (a sighting must not wait out a round)."""
        self._wake.set()

    async def start(self) -> None:
        await self.recover()
        self._runner = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._runner:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending``."""
        async with self._services.sessions() as session:
            result = await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.status) == "sending")
                .values(status="pending")
            )
            await session.commit()
        return int(result.rowcount or 0)

    async def _run(self) -> None:
        while True:
            try:
                pause = await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a database hiccup
                log.exception("dispatcher round failed")
                pause = 1.0
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def round(self) -> float:
        """Send what is due now; returns how long to wait before the next round (0: at once)."""
        self._wake.clear()
        due, soonest = await self._due()
        ready: list[Job] = []
        for job in due:
            wait = self._throttle.wait_for_chat(job.chat_id)
            if wait > 0:
                soonest = min(soonest, wait)
                continue
            self._throttle.record(job.chat_id)
            ready.append(job)
        claimed = await self._claim([job.id for job in ready])
        mine = [job for job in ready if job.id in claimed]
        self._unrecord([job for job in ready if job.id not in claimed])  # another process's
        for position, job in enumerate(mine):
            await self._throttle.global_slot()
            self._spawn(job)
            if self._wake.is_set() and job.lane > PEOPLE:
                await self._release(mine[position + 1 :])
                return 0.0  # something new arrived: re-read, people first
        return 0.0 if claimed else soonest

    def _unrecord(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._throttle.unrecord(job.chat_id)

    async def _due(self) -> tuple[list[Job], float]:
        """The next rows to send, in order; and, if none is due, seconds until one will be."""
        now = self._services.now()
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .where(col(OutboxMessage.next_attempt_at) <= now)
            .order_by(col(OutboxMessage.lane), col(OutboxMessage.rank), col(OutboxMessage.id))
            .limit(ROUND)
        )
        async with self._services.sessions() as session:
            rows = (await session.exec(query)).all()
            if rows:
                return [_job(r) for r in rows], IDLE_WAIT
            later = await session.exec(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == "pending"
                )
            )
            upcoming = later.one()
        wait = (upcoming - now).total_seconds() if upcoming else IDLE_WAIT
        return [], min(max(wait, 0.01), IDLE_WAIT)

    async def _claim(self, ids: list[int]) -> set[int]:
        """Mark the rows ``sending`` in one statement; returns the ids this process got."""
        if not ids:
            return set()
        async with self._services.sessions() as session:
            result = await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == "pending")
                .values(status="sending")
                .returning(col(OutboxMessage.id))
            )
            claimed = {row[0] for row in result.all()}
            await session.commit()
        return claimed

    async def _release(self, jobs: list[Job]) -> None:
        """Give back claimed rows that were not started (a more urgent row came in)."""
        if not jobs:
            return
        self._unrecord(jobs)
        async with self._services.sessions() as session:
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_([job.id for job in jobs]))
                .where(col(OutboxMessage.status) == "sending")
                .values(status="pending")
            )
            await session.commit()

    def _spawn(self, job: Job) -> None:
        task = asyncio.create_task(self._deliver(job), name=f"outbox-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, job: Job) -> None:
        async with self._slots:
            if job.kind == "alert" and await self._cancelled(job):
                return  # the case closed while this alert waited for its turn
            if job.payload.get(FOR_OFFICERS) and not await self._still_officer(job):
                return  # removed since it was queued (the removal cancels; this closes the race)
            try:
                message_id = await self._transport.execute(job.chat_id, job.payload)
            except DeliveryError as error:
                await self._failed(job, error)
            except Exception as error:  # an unexpected bug must not leave the row in limbo
                log.exception("delivery of outbox row %s crashed", job.id)
                await self._failed(job, Transient(repr(error)))
            else:
                await self._sent(job, message_id)

    async def _cancelled(self, job: Job) -> bool:
        async with self._services.sessions() as session:
            row = await session.get(OutboxMessage, job.id)
            return row is None or row.status == "cancelled"

    async def _still_officer(self, job: Job) -> bool:
        """Whether officers' news may still go to ``job``'s chat; if not, the row is cancelled."""
        if job.chat_id < 0 or self._services.is_admin(job.chat_id):
            return True  # the officers' group, an admin
        async with self._services.sessions() as session:
            officer = await session.get(Officer, job.chat_id)
            if officer is not None and officer.active:
                return True
            row = await session.get(OutboxMessage, job.id)
            if row is not None:
                row.status, row.last_error = "cancelled", "no longer an officer"
                session.add(row)
                await session.commit()
        return False

    async def _sent(self, job: Job, message_id: int | None) -> None:
        self._metrics.sent(job.kind, "ok")
        log.info(
            "sent %s case=%s chat=%s message=%s",
            job.kind,
            job.case_id,
            log_chat(job.chat_id),
            message_id,
        )
        now = self._services.now()
        async with self._services.sessions() as session:
            row = await session.get(OutboxMessage, job.id)
            if row is None:
                return
            row.status, row.message_id, row.sent_at = "sent", message_id, now
            row.attempts = job.attempts + 1
            session.add(row)
            if job.kind == "alert" and job.case_id is not None:
                case = await session.get(Case, job.case_id)
                if case is not None and case.status != "open":
                    await closing.retract(self._services, session, case, row)
                    self.wake()
            await session.commit()

    async def _failed(self, job: Job, error: DeliveryError) -> None:
        result = type(error).__name__.lower()
        self._metrics.sent(job.kind, result)
        log.info(
            "%s %s case=%s chat=%s attempt=%s: %s",
            result, job.kind, job.case_id, log_chat(job.chat_id), job.attempts + 1, error,
        )  # fmt: skip
        if isinstance(error, Throttled):
            self._throttle.pause(job.chat_id, error.seconds)
            await self._retry(job, error.seconds, str(error), count_attempt=False)
        elif isinstance(error, Moved):
            await self._move(job, error.new_chat_id)
        elif isinstance(error, Gone):
            await self._gone(job, str(error))
        elif (
            isinstance(error, Transient) and job.attempts + 1 < self._services.settings.max_attempts
        ):
            base = self._services.settings.retry_seconds
            backoff = min(MAX_BACKOFF, base * 2.0**job.attempts)
            await self._retry(job, backoff, str(error), count_attempt=True)
        else:
            await self._dead(job, str(error), tell=not isinstance(error, Rejected) or job.lane == 2)

    async def _retry(self, job: Job, after: float, error: str, *, count_attempt: bool) -> None:
        async with self._services.sessions() as session:
            row = await session.get(OutboxMessage, job.id)
            if row is None:
                return
            row.status = "pending"
            row.next_attempt_at = self._services.now() + timedelta(seconds=after)
            row.attempts = job.attempts + (1 if count_attempt else 0)
            row.last_error = error[:512]
            session.add(row)
            await session.commit()
        self.wake()

    async def _dead(self, job: Job, error: str, tell: bool = True) -> None:
        log.warning("outbox row %s to %s is dead: %s", job.id, log_chat(job.chat_id), error)
        async with self._services.sessions() as session:
            row = await session.get(OutboxMessage, job.id)
            if row is None:
                return
            row.status, row.attempts, row.last_error = "dead", job.attempts + 1, error[:512]
            session.add(row)
            if tell and job.kind in ("alert", "retract", "closing_notice"):
                await self._services.tell_officers(
                    session,
                    lambda lang: Out(
                        say(lang, "delivery_dead", ref=ref(job.case_id or 0), chat=job.chat_id,
                            error=error[:200])
                    ),
                    kind="notice", case_id=job.case_id, dedupe=f"dead:{job.id}",
                )  # fmt: skip
            await session.commit()
        self.wake()

    async def _gone(self, job: Job, error: str) -> None:
        await registration.recipient_gone(self._services, job.chat_id, error)
        self.wake()

    async def _move(self, job: Job, new_chat_id: int) -> None:
        """The group became a supergroup: follow it and send there."""
        async with self._services.sessions() as session:
            group = await q.group_by_chat(session, job.chat_id)
            if group is not None and await q.group_by_chat(session, new_chat_id) is None:
                group.chat_id = new_chat_id
                session.add(group)
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.chat_id) == job.chat_id)
                .where(col(OutboxMessage.status).in_(("pending", "sending")))
                .values(chat_id=new_chat_id, status="pending")
            )
            await session.commit()
        log.info("chat %s migrated to %s", job.chat_id, new_chat_id)
        self.wake()


async def pending_count(services: Services) -> int:
    """Rows still to send (for tests, the demo and metrics)."""
    async with services.sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.status).in_(("pending", "sending")))
        return int((await session.exec(query)).one())  # type: ignore[call-overload]


__all__ = ["Dispatcher", "Group", "enqueue", "pending_count"]
