"""Which of several ``searchbot run`` processes on one database leads: it alone polls Telegram,
sends the outbox and runs the ticks; the others stand by (and, with a webhook, handle updates).

PostgreSQL decides, not a protocol of ours: the leader holds a session-level advisory lock
(``pg_try_advisory_lock``) on a connection of its own. A leader that dies loses its connection,
and with it the lock; a standby tries every second and takes over. The same connection LISTENs
for the outbox's wake-up (``models.db.WAKE_CHANNEL``): standbys' commits NOTIFY, the leader
sends at once.

A leader that cannot prove it still holds the lock stops at once. It leads on a lease: each
heartbeat (a ``SELECT 1`` every second) that PostgreSQL answers renews it until ``timeout``
after the heartbeat was sent, less a margin; the session is opened with
``idle_session_timeout`` = ``timeout``, so PostgreSQL ends a session that has sent nothing for
that long (a leader stopped with SIGSTOP, or cut off) and frees the lock, never before the
leader's own lease has run out. A resumed ex-leader finds its lease lapsed and steps down
before it sends anything. Sends are fenced as well: a claim of an outbox row holds only while
the lock's session is this leader's (``claim_fence``).

SQLite is one process: :func:`hold_sqlite` locks ``<db file>.lock`` (the OS releases it when the
process dies) and that process leads from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import asyncpg
from sqlalchemy import bindparam, false, text
from sqlalchemy import exc as sql_errors
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import func, select

from searchbot.cases.services import Services
from searchbot.domain.events import LeadershipMoved
from searchbot.models import Case, CaseStatus
from searchbot.models.db import WAKE_CHANNEL, is_sqlite
from searchbot.operations.health import Metrics

log = logging.getLogger(__name__)

LOCK_KEY = 0x5EA2C4  # the advisory lock's key; pg_locks shows it as classid 0, objid LOCK_KEY
TRY_EVERY = 1.0  # seconds between a standby's tries, and between a leader's heartbeats
MARGIN = 0.5  # seconds the lease ends before PostgreSQL may end the session
CONNECT_TIMEOUT = 5.0
UNREACHABLE_SQLSTATES = ("08", "57P")  # connection exceptions; the server shutting down
UNREACHABLE_ERRORS = (
    sql_errors.TimeoutError,  # no connection free in the pool in time
    sql_errors.InterfaceError,
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.PostgresConnectionError,
)
DRIVERS = re.compile(r"[/\\](asyncpg|aiosqlite|sqlalchemy)[/\\]")
_HELD: list[IO[bytes]] = []  # SQLite lock files held by this process


class Role(StrEnum):
    LEADER = "leader"
    STANDBY = "standby"


@dataclass(frozen=True)
class Roles:
    """What leading means for this process (the composition root wires it): ``lead`` starts
    sending (``moved``: another instance led before), ``halt`` stops every send and poll at
    once, synchronously, and ``stand_by`` then waits for what was already in the air."""

    lead: Callable[[bool], Awaitable[None]]
    halt: Callable[[], None]
    stand_by: Callable[[], Awaitable[None]]


class Leadership:
    """This process's role: on SQLite always the leader, on PostgreSQL whoever holds the lock."""

    def __init__(
        self, database_url: str, timeout: float, metrics: Metrics, wake: Callable[[], None]
    ) -> None:
        self._dsn = None if is_sqlite(database_url) else asyncpg_dsn(database_url)
        self._timeout, self._metrics, self._wake = timeout, metrics, wake
        self._roles: Roles | None = None
        self._connection: asyncpg.Connection | None = None
        self._leading = False
        self._lease_until = 0.0  # monotonic: CLOCK_MONOTONIC runs on while the process is stopped
        self._seen_other = False  # the lock was held elsewhere: leading now is a move
        self._lead_task: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._complained = False  # the database was said to be unreachable (once an outage)
        self._stopping = False
        self.pid: int | None = None  # the lock session's backend process id (the claim fence)
        metrics.leader.set_function(lambda: 1.0 if self.leading else 0.0)

    @property
    def leading(self) -> bool:
        """Whether this process may send and poll now: it holds the lock and its lease runs."""
        return self._leading and (self._dsn is None or time.monotonic() < self._lease_until)

    @property
    def unreachable(self) -> bool:
        """The database did not answer this instance's last try or heartbeat."""
        return self._complained

    @property
    def stopping(self) -> bool:
        """The process is shutting down (a graceful stop, not a lost lead)."""
        return self._stopping

    @property
    def role(self) -> Role:
        return Role.LEADER if self.leading else Role.STANDBY

    async def start(self, roles: Roles) -> None:
        """Take the lead if it is free (an instance alone leads before this returns), then keep
        trying, or keep proving the lead, every second."""
        self._roles = roles
        if self._dsn is None:
            self._become_leader()
            await roles.lead(False)
            return
        await self._step()
        if self._lead_task is not None:
            await asyncio.gather(self._lead_task, return_exceptions=True)
        self._loop_task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        """Step down (what is in the air is settled first) and let the lock go."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        if self._leading:
            await self._step_down("stopping")
        await self._close()

    def claim_fence(self) -> list[ColumnElement[bool]]:
        """Conditions an outbox claim adds: the lock is still held by this leader's session.
        A leader PostgreSQL has let go of (its session ended) claims nothing, whatever it
        believes.

        Claims commit as they run (``db.committed_as_run``), so none is left done and
        uncommitted. A fenced statement inside a transaction (a release of claimed rows) gets
        ``idle_in_transaction_session_timeout`` = ``timeout`` for that transaction: a leader
        stopped inside it would hold the rows' locks, and the next leader's recovery would wait
        for them as long as it stayed stopped. PostgreSQL ends such a transaction instead. It is
        a condition, not a statement of its own, so that it costs no round trip."""
        if not self.leading:
            return [false()]
        if self._dsn is None:
            return []
        fence = text(
            "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
            "AND objid = :lock_key AND objsubid = 1 AND pid = :lock_pid AND granted) "
            "AND set_config('idle_in_transaction_session_timeout', :idle_ms, true) IS NOT NULL"
        ).bindparams(
            bindparam("lock_key", LOCK_KEY),
            bindparam("lock_pid", self.pid),
            bindparam("idle_ms", str(int(self._timeout * 1000))),
        )
        return [fence]  # type: ignore[list-item]

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # a dropped connection cuts the wait short
                await asyncio.wait_for(self._lost.wait(), TRY_EVERY)
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive anything: a search cannot wait
                log.exception("leadership step failed")

    async def _step(self) -> None:
        """One turn: step down if the lead was lost, else prove it, else try to take it."""
        if self._leading and (self._lost.is_set() or time.monotonic() >= self._lease_until):
            await self._step_down("the lock's connection was lost or its lease lapsed")
        elif self._leading:
            await self._heartbeat()
        else:
            self._lost.clear()  # a drop noticed after stepping down says nothing new
            await self._try()

    async def _try(self) -> None:
        """Try the lock once, on a connection kept open between tries."""
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await self._connect()
            sent = time.monotonic()
            got = await self._connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", LOCK_KEY, timeout=self._timeout - MARGIN
            )
        except Exception as error:
            self._unreachable(error)
            await self._close()
            return
        self._reachable()
        if not got:
            self._seen_other = True
            return
        self._lease_until = sent + self._timeout - MARGIN
        self.pid = self._connection.get_server_pid()
        self._lost.clear()
        self._connection.add_termination_listener(self._dropped)
        await self._connection.add_listener(WAKE_CHANNEL, self._notified)
        moved, self._seen_other = self._seen_other, False
        self._become_leader()
        log.warning("leading: this instance polls, sends and ticks (lock session %s)", self.pid)
        assert self._roles is not None
        self._lead_task = asyncio.create_task(self._lead(moved), name="leadership-lead")

    async def _lead(self, moved: bool) -> None:
        """Start leading; a start that fails lets the lock go so that another may try."""
        assert self._roles is not None
        try:
            await self._roles.lead(moved)
        except Exception:
            log.exception("starting to lead failed; letting the lock go")
            self._lost.set()

    async def _heartbeat(self) -> None:
        """``SELECT 1`` on the lock's connection: an answer renews the lease from when it was
        asked; none before the lease runs out ends the lead."""
        assert self._connection is not None
        sent = time.monotonic()
        try:
            await self._connection.fetchval("SELECT 1", timeout=max(0.1, self._lease_until - sent))
        except Exception as error:
            self._unreachable(error)
            await self._step_down("the heartbeat went unanswered")
            return
        self._lease_until = sent + self._timeout - MARGIN

    def _dropped(self, _connection: object) -> None:
        """The lock's connection closed under us: stop sending now, not at the next turn."""
        if self._leading:
            log.warning("the leadership connection dropped: sending and polling stop")
            self._halt()
        self._lost.set()

    def _notified(self, *_args: Any) -> None:
        self._wake()  # NOTIFY from a commit that wrote outbox rows, in any process

    def _become_leader(self) -> None:
        self._leading = True
        self._metrics.leader_changes.inc()

    def _halt(self) -> None:
        """No more sends or polls from this process, at once."""
        if self._roles is not None:
            self._roles.halt()

    async def _step_down(self, reason: str) -> None:
        log.warning("standing by: %s", reason)
        was_leading, self._leading = self._leading, False
        self._halt()
        if self._lead_task is not None:
            self._lead_task.cancel()
            await asyncio.gather(self._lead_task, return_exceptions=True)
            self._lead_task = None
        if was_leading:
            self._metrics.leader_changes.inc()
        if self._roles is not None:  # settled before the lock goes: no recovery races them
            await self._roles.stand_by()
        await self._close()  # the lock goes with the session (if PostgreSQL has not ended it)
        self._lost.clear()

    async def _connect(self) -> asyncpg.Connection:
        assert self._dsn is not None
        keepalive = str(max(1, int(self._timeout)))
        return await asyncpg.connect(
            self._dsn,
            timeout=CONNECT_TIMEOUT,
            server_settings={
                "application_name": "searchbot leadership",
                "idle_session_timeout": str(int(self._timeout * 1000)),
                # a host that vanished: PostgreSQL stops waiting for it (the idle timeout also
                # would); a stopped process's kernel still answers these, hence the timeout
                "tcp_keepalives_idle": keepalive,
                "tcp_keepalives_interval": "1",
                "tcp_keepalives_count": "3",
            },
        )

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.remove_termination_listener(self._dropped)
            try:
                await asyncio.wait_for(connection.close(), 2.0)
            except Exception:  # unreachable: drop it; PostgreSQL ends the session by itself
                connection.terminate()

    def _unreachable(self, error: BaseException) -> None:
        if not self._complained:
            self._complained = True
            log.warning("the database does not answer (%s); trying every second",
                        type(error).__name__)  # fmt: skip

    def _reachable(self) -> None:
        if self._complained:
            self._complained = False
            log.warning("the database answers again")


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as asyncpg's connection string (``postgresql+asyncpg://`` ->
    ``postgresql://``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def database_unreachable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says the database could not be reached, rather
    than that a statement failed: such an update is handled again once it answers."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sql_errors.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, UNREACHABLE_ERRORS):
            return True
        if str(getattr(error, "sqlstate", "") or "").startswith(UNREACHABLE_SQLSTATES):
            return True
        if isinstance(error, OSError | TimeoutError) and _raised_by_driver(error):
            return True  # a refused or timed-out connection comes unwrapped from the pool
        error = error.__cause__ or error.__context__
    return False


def _raised_by_driver(error: BaseException) -> bool:
    """An OSError from the database's driver or pool (not from Telegram's HTTP client)."""
    frames = traceback.extract_tb(error.__traceback__)
    return any(DRIVERS.search(frame.filename) for frame in frames)


async def announce_move(services: Services) -> None:
    """Officers hear, once, that another instance took over while cases were open."""
    async with services.sessions() as session:
        result = await session.exec(select(func.count()).where(Case.status == CaseStatus.OPEN))
        open_cases = int(result.one())
        if open_cases:
            await services.publish(session, LeadershipMoved(open_cases))
            await session.commit()


def hold_sqlite(database_url: str) -> bool:
    """Lock ``<db file>.lock`` for the rest of this process's life (the OS lets it go when the
    process dies, however it dies); False if another process holds it. An in-memory database
    needs no lock."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return True
    handle = Path(f"{database}.lock").open("ab")  # noqa: SIM115  (held for the process's life)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _HELD.append(handle)
    return True
