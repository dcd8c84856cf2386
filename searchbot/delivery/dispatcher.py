"""The dispatcher: drains the outbox to Telegram, people first, nearest groups first, as fast as
Telegram allows and no faster.

Each round reads the first row of every chat that can take a message now (at most one row per
chat, in lane, rank, id order): rows waiting for a throttled chat take one place in the line,
not all of it, and a chat's messages go out one at a time in the order they were written. The
pace (overall, per chat, per group, and what a 429 teaches) is :mod:`searchbot.delivery.throttle`'s.

Each row is claimed (``pending`` -> ``sending``) by a conditional update just before its call,
and settled after it (``sent`` with its message id, back to ``pending`` with a later attempt
time, or ``dead``). A crash leaves at most the in-flight rows in ``sending``; the next start
puts them back to ``pending`` and tells the officers how many groups may see an alert twice,
so nothing is lost and duplicates are bounded by what was in flight (``CONCURRENCY``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from searchbot.cases.services import Services
from searchbot.delivery.line import Head, Job, LineQueries, pending_count
from searchbot.delivery.outage import Outage
from searchbot.delivery.outcomes import (
    DeliveryError,
    Transient,
)
from searchbot.delivery.settling import Settler
from searchbot.delivery.throttle import Throttle
from searchbot.domain.events import DeliveryLate, SendsInDoubt
from searchbot.domain.messages import Op
from searchbot.models import Group, OutboxMessage, OutboxStatus
from searchbot.models.outbox import FOR_OFFICERS, PEOPLE, Kind, enqueue
from searchbot.operations.health import Metrics
from searchbot.telling import digests

log = logging.getLogger(__name__)

CONCURRENCY = 16  # Bot API calls in flight at once (also the bound on duplicates after a crash)
BATCH_SECONDS = 1.0  # rows read per round: this many seconds of sending at the limit
IDLE_WAIT = 0.5  # seconds between looks at a quiet outbox (rows another process wrote)
# The same when other processes' commits wake the dispatcher (PostgreSQL's NOTIFY): the look
# is then only a safety net.
NOTIFIED_IDLE_WAIT = 5.0
Fence = Callable[[], list[ColumnElement[bool]]]  # conditions a claim adds (the leader's lock)
MIN_WAIT = 0.005  # a pace that ends now still ends a little later on the throttle's clock
ORDER_WAIT = 5.0  # seconds a send waits for the claims of the sends started before it


class _Withdrawn(Exception):
    """Officers' news whose reader is no longer an officer: not sent, the row cancelled."""


class Transport(Protocol):
    async def execute(self, chat_id: int, payload: dict[str, Any]) -> int | None: ...


class Dispatcher:
    def __init__(
        self,
        services: Services,
        transport: Transport,
        concurrency: int = CONCURRENCY,
        metrics: Metrics | None = None,
        idle_wait: float = IDLE_WAIT,
        fence: Fence = list,
    ) -> None:
        settings = services.settings
        self._idle_wait, self._fence = idle_wait, fence
        self._halted = False  # no claim from now on (this process no longer leads)
        self._outage = Outage()
        self._metrics = metrics or Metrics()
        self._services = services
        self._transport = transport
        self._throttle = Throttle(
            settings.paid_broadcast_rate, settings.group_per_minute, settings.chat_per_second
        )
        self._metrics.send_rate.set_function(self._throttle.rate)
        self._settler = Settler(services, self._throttle, self._metrics, self.wake)
        # Rows read per round: a second of sending (new rows for people interrupt a round,
        # and a chat freed by a finished send waits about a second for its pace anyway).
        self._batch = max(1, math.ceil(settings.paid_broadcast_rate * BATCH_SECONDS))
        self._queries = LineQueries.build(self._batch)
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()  # new rows: re-read at once, people first
        self._freed = asyncio.Event()  # a chat with rows waiting may take its next message
        self._busy: set[int] = set()  # chats with a send of this process in the air
        # Chats with rows behind the one in the air: the end of that send wakes the loop once
        # the chat's pace allows the next. Other sends end without a look at the outbox.
        self._waiting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Set once the latest started send has claimed its row (or given up): the next send
        # calls Telegram only after it, so that sends leave in the order they were started
        # (nearest group first) although their claims run side by side.
        self._claimed_before: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None

    def note_direct_send(self, chat_id: int) -> None:
        """A handler answered someone directly: that message counts against the limits."""
        self._throttle.record_direct(chat_id)

    def wake(self) -> None:
        """New rows were enqueued: look again now (a sighting must not wait out a round)."""
        self._wake.set()

    async def start(self) -> None:
        """Resume what a crash left in flight, then send; rings of the services' doorbell
        reach this dispatcher from now until ``stop``."""
        self._services.doorbell.answer(self)
        alerts = await self.recover()
        if alerts:
            await self._tell_possible_duplicates(alerts)
        self._runner = asyncio.create_task(self._run(), name="outbox-dispatcher")

    def halt(self) -> None:
        """Stop sending at once: no round and no claim from now on. Calls already in the air
        end and are settled (``stop`` waits for them)."""
        self._halted = True
        self._services.doorbell.release(self)
        if self._runner:
            self._runner.cancel()

    async def stop(self) -> None:
        self._halted = True
        self._services.doorbell.release(self)
        if self._runner:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def recover(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending``; returns how many of them were
        group alerts. Such an alert may have reached its group before the crash without the bot
        learning its message id: sent again, the group sees it twice. A row is claimed by its
        send task just before the call, so these are at most the sends in flight
        (``CONCURRENCY``)."""
        async with self._services.sessions() as session:
            alerts = await session.exec(
                select(func.count())
                .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
                .where(col(OutboxMessage.kind) == Kind.ALERT)
            )
            count = int(alerts.one())  # type: ignore[call-overload]
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
                .values(status=OutboxStatus.PENDING)
            )
            await session.commit()
        return count

    async def _tell_possible_duplicates(self, count: int) -> None:
        """Officers hear once, after the restart, how many groups may hold an alert twice."""
        log.warning("%s alert(s) were being sent when the bot stopped; sending them again", count)
        async with self._services.sessions() as session:
            await self._services.publish(session, SendsInDoubt(count))
            await session.commit()
        self.wake()

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
                await self._sleep(pause)

    async def _sleep(self, pause: float) -> None:
        """Wait ``pause`` seconds, or less if rows arrive or a send ends."""
        waits = [asyncio.ensure_future(event.wait()) for event in (self._wake, self._freed)]
        try:
            await asyncio.wait(waits, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def round(self) -> float:
        """Send what is due now; returns how long to wait before the next round (0: at once).

        Each row is claimed by its send task, once a send slot is free: a row is ``sending``
        only while its call may be in the air, so a crash leaves no more rows in doubt than
        there are sends in flight (``CONCURRENCY``).

        One read gives every chat's first row, those that can go now first: it tells what to
        send and, from the rest, when to look again (a chat's pace, a retry's time). Rows
        written meanwhile ring the doorbell; rows another process writes are found by the
        look every ``IDLE_WAIT``."""
        self._wake.clear()
        self._freed.clear()
        # over the overall limit, or Telegram out of reach (then a probe at a time goes)
        paused = max(self._throttle.paused_all(), self._outage.wait())
        if paused > 0:
            return paused
        blocked = self._throttle.blocked_chats()
        heads, now = await self._heads(set(blocked) | self._busy)
        wait, started = self._idle_wait, 0
        for head in heads:
            job, chat_id = head.job, head.job.chat_id
            if head.in_the_air or chat_id in self._busy:
                if head.queued > 1:
                    self._waiting.add(chat_id)  # the send's end wakes the loop for the rest
                continue
            due_in = max((head.next_attempt_at - now).total_seconds(), blocked.get(chat_id, 0.0))
            if due_in > 0:
                wait = min(wait, due_in)
                continue
            if self._wake.is_set() and job.lane > PEOPLE:
                return 0.0  # something new arrived: re-read, people first
            if not await self._start(job):  # paced meanwhile (a handler answered directly)
                wait = min(wait, self._throttle.wait_for_chat(chat_id))
                continue
            started += 1
            if self._outage.down:  # the probe: nothing more until it is answered
                self._outage.probe()
                return self._outage.wait()
            if head.queued > 1:
                self._waiting.add(chat_id)
            else:
                self._waiting.discard(chat_id)
        if len(heads) >= self._batch:  # the read may have left chats out
            if started:
                return 0.0
            wait = min([wait, *blocked.values()])  # chats left out may be among them
        return max(wait, MIN_WAIT)

    async def _start(self, job: Job) -> bool:
        """Wait for a free slot and start sending the row; False if its chat cannot take a
        message now. The row is claimed by the send itself, so that the next slot need not
        wait for the database."""
        if not self._free(job.chat_id):
            return False
        await self._slots.acquire()
        try:
            await self._throttle.global_slot()
        except BaseException:
            self._slots.release()
            raise
        if not self._free(job.chat_id):  # a handler's reply, say, took its turn meanwhile
            self._throttle.slot_unused()
            self._slots.release()
            return False
        self._busy.add(job.chat_id)
        self._throttle.record(job.chat_id)
        previous, claimed = self._claimed_before, asyncio.Event()
        self._claimed_before = claimed
        task = asyncio.create_task(self._deliver(job, previous, claimed), name=f"outbox-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def _free(self, chat_id: int) -> bool:
        """Nothing being sent to the chat by this process, and its pace allows a message."""
        return chat_id not in self._busy and self._throttle.wait_for_chat(chat_id) <= 0

    async def _heads(self, excluded: set[int]) -> tuple[list[Head], datetime]:
        """Every chat's first unsent row (its messages go out in the order they were
        written), at most a batch: those due now for chats not ``excluded`` (paced, or being
        sent to by this process) first, in lane, rank, id order. However many rows wait for
        a throttled chat, they take one place in the line."""
        now = self._services.now()
        query, params = self._queries.heads_at(now, excluded)
        async with self._services.sessions() as session:
            found = await session.exec(query, params=params)  # type: ignore[call-overload]
            return [Head.of(row, queued) for row, queued in found.all()], now

    async def _claim(self, row_id: int) -> bool:
        """Mark the row ``sending`` if it is still pending and due, and this process still
        leads (the fence); False if not."""
        if self._halted:
            return False
        now = self._services.now()
        async with self._services.sessions() as session:
            result = await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row_id,
                    col(OutboxMessage.status) == OutboxStatus.PENDING,
                )
                .where(col(OutboxMessage.next_attempt_at) <= now)  # not one retried meanwhile
                .where(*self._fence())
                .values(status=OutboxStatus.SENDING)
            )
            await session.commit()
        return bool(result.rowcount)

    async def _deliver(
        self, job: Job, previous: asyncio.Event | None, claimed: asyncio.Event
    ) -> None:
        """Claim the row, make its call, settle it. The slot, the chat and the pace it was
        given are handed back if the row was not ours to send after all (another process took
        it, or it was cancelled or retried meanwhile). The call waits for the sends started
        before this one to have claimed theirs: claims race, the order of the calls must not."""
        try:
            try:
                ours = await self._claimed(job)
                if previous is not None:  # bounded: a send cancelled before it ran sets none
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(previous.wait(), ORDER_WAIT)
            finally:
                claimed.set()
            if not ours:
                self._throttle.slot_unused()
                self._throttle.unrecord(job.chat_id)
                return
            await self._send(job)
        except Exception as error:  # the database went while settling: the row stays sending
            log.warning("outbox row %s could not be settled (%s); recovered at the next "
                        "start of a leader", job.id, type(error).__name__)  # fmt: skip
        finally:
            self._busy.discard(job.chat_id)
            self._slots.release()
            if job.chat_id in self._waiting:
                self._waiting.discard(job.chat_id)
                self._freed_in(self._throttle.wait_for_chat(job.chat_id))

    async def _send(self, job: Job) -> None:
        """The claimed row's call, and what it came to written back."""
        started = time.monotonic()
        try:
            message_id = await self._call(job)
        except _Withdrawn:
            pass  # its reader is no longer an officer: the row was cancelled
        except DeliveryError as error:
            await self._failed(job, error, started)
        except Exception as error:  # an unexpected bug must not leave the row in limbo
            log.exception("delivery of outbox row %s crashed", job.id)
            await self._settler.failed(job, Transient(repr(error)))
        else:
            await self._answered()
            await self._settler.sent(job, message_id)

    async def _failed(self, job: Job, error: DeliveryError, started: float) -> None:
        """Settle a failed send; while Telegram as a whole is out of reach the row waits for
        it without using up an attempt."""
        if isinstance(error, Transient) and self._outage.failed(started):
            await self._settler.held(job, str(error))
            return
        if not isinstance(error, Transient):
            await self._answered()  # a refusal is an answer: Telegram is there
        await self._settler.failed(job, error)

    async def _answered(self) -> None:
        """Telegram answered: if it was out of reach, what waited goes now, and officers hear
        once that delivery was late when it was out long."""
        was_down = self._outage.down
        late = self._outage.answered()
        if was_down:
            log.warning("Telegram answers again; sending what was held back")
            self.wake()
        if late is not None:
            async with self._services.sessions() as session:
                await self._services.publish(session, DeliveryLate(round(late)))
                await session.commit()

    def _freed_in(self, seconds: float) -> None:
        """Look at the outbox again in ``seconds`` (a chat's pace: its next row may go)."""
        if seconds <= 0:
            self._freed.set()
        else:
            asyncio.get_running_loop().call_later(seconds, self._freed.set)

    async def _claimed(self, job: Job) -> bool:
        try:
            return await self._claim(job.id)
        except Exception:  # the database hiccupped: the row stays pending for a later round
            log.exception("claiming outbox row %s failed", job.id)
            return False

    async def _call(self, job: Job) -> int | None:
        """The Bot API call; the pace counts from its end. A folded officers' message is
        rendered now (None: nothing to say any more, no call)."""
        await self._throttle.call_slot()
        try:
            payload = job.payload
            if payload.get(FOR_OFFICERS) and not await self._still_officer(job):
                raise _Withdrawn  # removed since it was queued (the removal cancels; the race)
            if payload.get("op") == Op.DIGEST:
                rendered = await self._render_digest(job)
                if rendered is None:
                    return None
                payload = rendered
            return await self._transport.execute(job.chat_id, payload)
        finally:
            self._throttle.slot_done()
            self._throttle.settle(job.chat_id)

    async def _render_digest(self, job: Job) -> dict[str, Any] | None:
        """A folded officers' message is written when it is sent: it shows the present."""
        async with self._services.sessions() as session:
            lang = str(job.payload.get("lang", self._services.settings.language))
            return await digests.render(self._services, session, job.chat_id, Kind(job.kind), lang)

    async def _still_officer(self, job: Job) -> bool:
        """Whether officers' news may still go to ``job``'s chat; if not, the row is cancelled."""
        if job.chat_id < 0 or self._services.officers.is_admin(job.chat_id):
            return True  # the officers' group, an admin
        async with self._services.sessions() as session:
            if await self._services.officers.still_officer(session, job.chat_id):
                return True
            row = await session.get(OutboxMessage, job.id)
            if row is not None:
                row.status, row.last_error = OutboxStatus.CANCELLED, "no longer an officer"
                session.add(row)
                await session.commit()
        return False


__all__ = ["Dispatcher", "Group", "enqueue", "pending_count"]
