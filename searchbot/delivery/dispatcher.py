"""The dispatcher: drains the outbox to Telegram, people first, nearest groups first, as fast as
Telegram allows and no faster.

Each round reads the first row of every chat that can take a message now (at most one row per
chat, in lane, rank, id order): rows waiting for a throttled chat take one place in the line,
not all of it, and a chat's messages go out one at a time in the order they were written. The
pace (overall, per chat, per group, and what a 429 teaches) is :mod:`searchbot.delivery.throttle`'s.

Each row is claimed (``pending`` -> ``sending``) by a conditional update just before its slot
(paid rows a chunk at a time, see :mod:`searchbot.delivery.burst`), and settled after its call
(``sent`` with its message id, back to ``pending`` with a later attempt time, or ``dead``). A
crash leaves at most the in-flight rows and the one waiting for its slot in ``sending`` (with
paid broadcast, also the paid chunks claimed and the sends not yet written back); the next
start puts them back to ``pending`` and tells the officers how many groups may see an alert
twice, so nothing is lost and duplicates are bounded by what was in flight.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.sql.elements import ColumnElement

from searchbot.cases.services import Services
from searchbot.delivery import burst, officers
from searchbot.delivery.line import Head, Job, LineQueries, claim, pending_count, recover
from searchbot.delivery.outage import Outage
from searchbot.delivery.outcomes import (
    DeliveryError,
    Transient,
    Unpaid,
)
from searchbot.delivery.settling import Settler
from searchbot.delivery.stars import Stars, Unreachable
from searchbot.delivery.throttle import Throttle
from searchbot.domain.broadcast import PAID_PER_SECOND
from searchbot.domain.events import DeliveryLate, SendsInDoubt
from searchbot.domain.messages import Op
from searchbot.models import Group
from searchbot.models.db import committed_as_run
from searchbot.models.outbox import FOR_OFFICERS, PEOPLE, enqueue
from searchbot.operations.health import Metrics

log = logging.getLogger(__name__)

CONCURRENCY = 16  # Bot API calls in flight at once (also the bound on duplicates after a crash)
PAID_CONCURRENCY = 64  # the same with paid broadcast on: a thousand calls a second of 30 ms
BATCH_SECONDS = 1.0  # rows read per round: this many seconds of sending at the limit
IDLE_WAIT = 0.5  # seconds between looks at a quiet outbox (rows another process wrote)
# The same when other processes' commits wake the dispatcher (PostgreSQL's NOTIFY): the look
# is then only a safety net.
NOTIFIED_IDLE_WAIT = 5.0
Fence = Callable[[], list[ColumnElement[bool]]]  # conditions a claim adds (the leader's lock)
PEOPLE_FIRST = 0.3  # seconds a paid burst may wait, before it begins, for people's next messages
MIN_WAIT = 0.005  # a pace that ends now still ends a little later on the throttle's clock


class _Withdrawn(Exception):
    """Officers' news whose reader is no longer an officer: not sent, the row cancelled."""


class Transport(Protocol):
    async def execute(
        self, chat_id: int, payload: dict[str, Any], paid: bool = False
    ) -> int | None: ...

    async def star_balance(self) -> Decimal: ...


class Dispatcher:
    def __init__(
        self,
        services: Services,
        transport: Transport,
        concurrency: int | None = None,
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
        self._claims = committed_as_run(services.sessions)
        self._transport = transport
        paid = PAID_PER_SECOND if settings.paid_budget > 0 else 0
        self._throttle = Throttle(
            settings.global_per_second, settings.group_per_minute, settings.chat_per_second,
            paid_per_second=paid,
        )  # fmt: skip
        self._metrics.send_rate.set_function(self._throttle.rate)
        self._settler = Settler(services, self._throttle, self._metrics, self.wake)
        # Rows read per round: a second of sending (new rows for people interrupt a round,
        # and a chat freed by a finished send waits about a second for its pace anyway); a
        # second of a paid burst while one goes on.
        self._batch = max(1, math.ceil(settings.global_per_second * BATCH_SECONDS))
        self._queries = LineQueries.build(self._batch)
        self._paid_queries = LineQueries.build(max(self._batch, math.ceil(paid * BATCH_SECONDS)))
        self._bursting = False  # the last round found paid rows: read a paid second's worth
        self._hold_until: float | None = None  # a burst about to begin waits for people until
        self._stars = Stars(services, transport) if paid else None
        self._sent = burst.SentBatch(self._settler.sent_many)
        concurrency = concurrency or (PAID_CONCURRENCY if paid else CONCURRENCY)
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()  # new rows: re-read at once, people first
        self._freed = asyncio.Event()  # a chat with rows waiting may take its next message
        self._busy: set[int] = set()  # chats with a send of this process in the air
        # Chats with rows behind the one in the air: the end of that send wakes the loop once
        # the chat's pace allows the next. Other sends end without a look at the outbox.
        self._waiting: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
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
        if self._stars is not None:
            await self._stars.start()
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
        await self._sent.drain()

    async def recover(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending``; how many were group alerts
        (see :func:`searchbot.delivery.line.recover`)."""
        return await recover(self._services)

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

        Each row is claimed just before its slot: a row is ``sending`` only while its call is
        about to go or in the air, so a crash leaves few rows in doubt (see ``recover``).

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
        wait, started, paid, follow_ups = self._idle_wait, 0, list[Job](), False
        # While Telegram is out of reach no burst begins: a paid row may be the one probe.
        bursting = not self._outage.down and any(head.job.paid for head in heads)
        for head in heads:
            job, chat_id = head.job, head.job.chat_id
            if head.in_the_air or chat_id in self._busy:
                if head.queued > 1:
                    self._waiting.add(chat_id)  # the send's end wakes the loop for the rest
                    follow_ups |= job.lane == PEOPLE
                continue
            due_in = max((head.next_attempt_at - now).total_seconds(), blocked.get(chat_id, 0.0))
            if due_in > 0:
                wait = min(wait, due_in)
                continue
            if self._wake.is_set() and job.lane > PEOPLE:
                return 0.0  # something new arrived: re-read, people first
            if bursting and (job.paid or (paid and job.lane > PEOPLE)):
                paid += [job] if job.paid else []  # free rows wait for the paid burst's end
                continue
            if bursting and (turn := self._throttle.free_turn_wait()) > 0:
                wait = min(wait, turn)  # a person's message waits for its turn in the burst
                continue
            if not await self._start(job):  # paced meanwhile (a handler answered directly)
                wait = min(wait, self._throttle.wait_for_chat(chat_id))
                continue
            started += 1
            if self._outage.down:  # the probe: nothing more until it is answered
                self._outage.probe()
                return self._outage.wait()
            self._note_queue(chat_id, head.queued)
        self._bursting = bool(paid)
        if paid:
            return await self._go_paid(paid, follow_ups)
        self._hold_until = None
        if len(heads) >= self._batch:  # the read may have left chats out
            if started:
                return 0.0
            wait = min([wait, *blocked.values()])  # chats left out may be among them
        return max(wait, MIN_WAIT)

    async def _go_paid(self, jobs: list[Job], follow_ups: bool) -> float:
        """Send the round's paid rows, unless people's messages go first: in their turn during
        a burst, or, before a burst begins, the next messages of chats just written to (an
        officer's card has its pin, split cards a second part) for at most ``PEOPLE_FIRST``:
        once the burst has begun, each of them would cost a turn of about a second. Returns
        how long to wait before the next round (a people's send that ends wakes it sooner);
        the burst goes on until its rows are gone, then the free rows go."""
        if (turn := self._throttle.free_turn_left()) > 0:
            return turn
        if not self._throttle.bursting():
            now = time.monotonic()
            self._hold_until = self._hold_until or now + PEOPLE_FIRST
            if follow_ups and now < self._hold_until:
                return self._hold_until - now
        await self._start_paid(jobs)
        return 0.0

    def _note_queue(self, chat_id: int, queued: int) -> None:
        """A send to ``chat_id`` started: its end wakes the loop if more rows wait for it."""
        if queued > 1:
            self._waiting.add(chat_id)
        else:
            self._waiting.discard(chat_id)

    async def _start_paid(self, jobs: list[Job]) -> None:
        """The round's paid rows, nearest first, once the Stars are known to pay for them
        (those they cannot go free, in a later round), each chunk claimed by one statement
        (fenced like every claim) while the chunk before it is being sent (a claim waits its
        turn to write behind the sends' write-backs). People's rows that come in meanwhile go
        first; when Telegram goes out of reach or this process stops leading, the rows claimed
        and not started are pending again."""
        assert self._stars is not None
        started = time.monotonic()
        try:
            jobs = await self._stars.cover(jobs, self._sent.unwritten)
        except Unreachable as error:  # no balance, no burst: the rows wait, still paid
            await self._failed_call(Transient(str(error)), started)
            return
        chunks = [jobs[i : i + burst.CLAIM_CHUNK] for i in range(0, len(jobs), burst.CLAIM_CHUNK)]
        claiming, left = self._claim_soon(chunks[0] if chunks else []), set[int]()
        try:
            for index, chunk in enumerate(chunks):
                left |= await asyncio.shield(claiming)  # a halt must not cut it off unseen
                following = chunks[index + 1] if index + 1 < len(chunks) else []
                people = self._wake.is_set()  # re-read after this chunk: people first
                claiming = self._claim_soon([] if people else following)
                for job in chunk:
                    if job.id not in left:
                        continue
                    if self._outage.down or self._halted:
                        return  # the probe goes alone; or another process sends
                    await self._start(job, claimed=True)
                    left.discard(job.id)
                if people or not following:
                    return
        finally:
            self._unclaim_later(left, claiming)

    def _claim_soon(self, jobs: list[Job]) -> asyncio.Task[set[int]]:
        """Claim ``jobs`` (paid rows) by one statement, started now and awaited when they are
        next; nothing once this process no longer leads."""
        fence = self._fence() if jobs and not self._halted else None
        return burst.claim_soon(self._services, jobs if fence is not None else [], fence or [])

    def _unclaim_later(self, left: set[int], claiming: asyncio.Task[set[int]]) -> None:
        """Rows claimed and not started (and the chunk being claimed) are pending again."""
        task = asyncio.create_task(burst.unclaim(self._services, left, claiming, self._fence()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(self, job: Job, claimed: bool = False) -> bool:
        """Claim the row (a paid one was ``claimed`` with its chunk), wait for its slot (a paid
        one for a paid row) and start its call; False if its chat cannot take a message now or
        the row is not ours to send (another process took it, or it was cancelled or retried
        meanwhile). The claim comes first, so that the call goes the moment its slot comes: a
        claim after the slot put each call a claim later than its place in the sliding second
        allowed, and so the place that call left a second later, second after second."""
        if not self._free(job.chat_id):
            if claimed:
                await burst.release(self._services, [job.id], self._fence())
            return False
        await self._slots.acquire()
        try:
            if not claimed and not await self._claimed(job):
                self._slots.release()
                return False
            await (self._throttle.paid_slot() if job.paid else self._throttle.global_slot())
        except BaseException:
            self._slots.release()
            raise
        if not self._free(job.chat_id):  # a handler's reply, say, took its turn meanwhile
            self._throttle.slot_unused(job.paid)
            self._slots.release()
            await burst.release(self._services, [job.id], self._fence())
            return False
        self._busy.add(job.chat_id)
        self._throttle.record(job.chat_id)
        task = asyncio.create_task(self._deliver(job), name=f"outbox-{job.id}")
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
        queries = self._paid_queries if self._bursting else self._queries
        query, params = queries.heads_at(now, excluded)
        async with self._services.sessions() as session:
            found = await session.exec(query, params=params)  # type: ignore[call-overload]
            heads = [Head.of(row, queued) for row, queued in found.all()]
        if self._stars is None:  # paid broadcast was turned off since these rows were written
            heads = [replace(h, job=replace(h.job, paid=False)) if h.job.paid else h for h in heads]
        return heads, now

    async def _deliver(self, job: Job) -> None:
        """Make the claimed row's call and settle it."""
        try:
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
        """The claimed row's call, and what it came to written back (a paid one with others,
        see burst.py). Paid or free, a send Telegram did not answer counts to the outage."""
        started = time.monotonic()
        try:
            message_id = await self._call(job)
        except _Withdrawn:
            pass  # its reader is no longer an officer: the row was cancelled
        except Unpaid:  # the Stars ran out under it: it goes again, free
            assert self._stars is not None
            await self._answered()
            await self._stars.refused(job)
            self.wake()
        except DeliveryError as error:
            if not await self._failed_call(error, started):
                await self._settler.failed(job, error)
            else:  # Telegram is out of reach: the row waits for it, keeping its attempts
                await self._settler.held(job, str(error))
        except Exception as error:  # an unexpected bug must not leave the row in limbo
            log.exception("delivery of outbox row %s crashed", job.id)
            await self._settler.failed(job, Transient(repr(error)))
        else:
            await self._answered()
            if job.paid:
                assert self._stars is not None
                self._stars.spent()
                self._sent.add(job, message_id)
            else:
                await self._settler.sent(job, message_id)

    async def _failed_call(self, error: DeliveryError, started: float) -> bool:
        """A call started at ``started`` failed; True if Telegram as a whole is out of reach
        (a transient failure in a row of them)."""
        if isinstance(error, Transient):
            return self._outage.failed(started)
        await self._answered()  # a refusal is an answer: Telegram is there
        return False

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
        if self._halted:
            return False
        try:
            return await claim(self._claims, job.id, self._services.now(), self._fence())
        except Exception:  # the database hiccupped: the row stays pending for a later round
            log.exception("claiming outbox row %s failed", job.id)
            return False

    async def _call(self, job: Job) -> int | None:
        """The Bot API call; the pace counts from its end. A folded officers' message is
        rendered now (None: nothing to say any more, no call)."""
        await self._throttle.call_slot(job.paid)
        made = False  # a call not made says nothing of how long one takes
        try:
            payload = job.payload
            if payload.get(FOR_OFFICERS) and not await officers.still_officer(self._services, job):
                raise _Withdrawn  # removed since it was queued (the removal cancels; the race)
            if payload.get("op") == Op.DIGEST:
                rendered = await officers.render_digest(self._services, job)
                if rendered is None:
                    return None
                payload = rendered
            made = True
            return await self._transport.execute(job.chat_id, payload, paid=job.paid)
        finally:
            self._throttle.slot_done(job.paid, timed=made)
            self._throttle.settle(job.chat_id)


__all__ = ["Dispatcher", "Group", "enqueue", "pending_count"]
