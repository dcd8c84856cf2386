"""Leadership on PostgreSQL, in one process: one of two candidates leads, the other takes over
when it lets go; a claim fenced by the lock fails once the lock's session is gone, a claim is
committed by its own statement, and a fenced transaction left open is ended; a commit that wrote
outbox rows wakes the leader through NOTIFY, a rolled back one does not. Needs PostgreSQL
(TEST_DATABASE_URL); each test has a database of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import event, update
from sqlmodel import col

from searchbot import app
from searchbot.delivery.leadership import Leadership, Roles, asyncpg_dsn
from searchbot.delivery.line import claim, job_of
from searchbot.delivery.settling import Settler
from searchbot.delivery.throttle import Throttle
from searchbot.domain.messages import Out
from searchbot.models import OutboxMessage, OutboxStatus, db
from searchbot.models.doorbell import Doorbell
from searchbot.models.outbox import Kind, enqueue
from searchbot.operations.health import Metrics
from searchbot.settings import load_settings
from tests.instances import own_database, postgres_base

pytestmark = pytest.mark.skipif(
    not postgres_base(), reason="leadership is a PostgreSQL advisory lock: set TEST_DATABASE_URL"
)


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with own_database() as made:
        yield made


class Candidate:
    """A Leadership with roles that only record what they were asked."""

    def __init__(self, url: str) -> None:
        self.metrics = Metrics()
        self.woken = 0
        self.led: list[bool] = []
        self.halted = 0
        self.leadership = Leadership(url, 3.0, self.metrics, self._wake)

    def _wake(self) -> None:
        self.woken += 1

    async def _lead(self, moved: bool) -> None:
        self.led.append(moved)

    def _halt(self) -> None:
        self.halted += 1

    async def _stand_by(self) -> None:
        pass

    async def start(self) -> Candidate:
        await self.leadership.start(Roles(self._lead, self._halt, self._stand_by))
        return self


async def test_one_leads_the_other_takes_over_when_it_lets_go(url: str) -> None:
    first = await Candidate(url).start()
    second = await Candidate(url).start()
    try:
        assert first.leadership.leading and first.led == [False]
        assert not second.leadership.leading and second.led == []
        await first.leadership.stop()
        assert first.halted == 1
        for _ in range(50):
            if second.leadership.leading:
                break
            await asyncio.sleep(0.1)
        assert second.led == [True]  # it saw the lock held: leading now is a move
        assert second.metrics.leader_changes._value.get() == 1
        assert first.metrics.leader_changes._value.get() == 2  # took it, let it go
    finally:
        await second.leadership.stop()


async def test_a_claim_fenced_by_the_lock_fails_once_its_session_is_gone(url: str) -> None:
    engine = db.create_engine(url)
    sessions = db.sessions(engine)
    leader = await Candidate(url).start()
    try:
        async with sessions() as session:
            now = datetime.now(UTC)
            row = await enqueue(session, 1, Out("hello"), kind=Kind.REPLY, now=now)
            await session.commit()
            assert row is not None
        fence = leader.leadership.claim_fence()  # as a claim made a moment later would hold it

        async def claim() -> int:
            async with sessions() as session:
                result = await session.exec(  # type: ignore[call-overload]
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == row.id, *fence)
                    .values(status=OutboxStatus.SENDING)
                )
                await session.rollback()
                return int(result.rowcount)

        assert await claim() == 1
        killer = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await killer.execute("SELECT pg_terminate_backend($1)", leader.leadership.pid)
            while await killer.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1",
                leader.leadership.pid,
            ):
                await asyncio.sleep(0.05)
        finally:
            await killer.close()
        assert await claim() == 0  # whatever the old leader still believes
        for _ in range(50):
            if leader.halted:
                break
            await asyncio.sleep(0.05)
        assert leader.halted and leader.leadership.claim_fence() != fence
    finally:
        await leader.leadership.stop()
        await engine.dispose()


def status_seen_elsewhere(url: str, row_id: int) -> str:
    """The row's status as another process sees it, asked while this one's event loop waits
    (as a stopped process would)."""
    seen: list[str] = []

    async def look() -> None:
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            seen.append(
                await connection.fetchval("SELECT status FROM outbox WHERE id = $1", row_id)
            )
        finally:
            await connection.close()

    looking = threading.Thread(target=asyncio.run, args=(look(),))
    looking.start()
    looking.join(10)
    return seen[0] if seen else "not seen"


async def a_reply(sessions: db.Sessions) -> OutboxMessage:
    """One pending row in the outbox, committed."""
    async with sessions() as session:
        row = await enqueue(session, 1, Out("hello"), kind=Kind.REPLY, now=datetime.now(UTC))
        await session.commit()
    assert row is not None and row.id is not None
    return row


async def test_a_claim_and_its_write_back_are_each_committed_by_their_own_statement(
    url: str,
) -> None:
    """A leader stopped right after its claim's statement has claimed the row for everyone to
    see: no COMMIT is left to send. A claim left done and uncommitted would hide from the next
    leader's recovery, and the old leader, resumed, would commit it ``sending`` for nobody to
    send (an alert lost in the stopped-leader test, 1 run in 12 under load). The same for the
    send's write-back: left uncommitted it would hold the row's lock, and the next leader's
    recovery would wait for it as long as the old leader stayed stopped."""
    engine = db.create_engine(url)
    sessions = db.sessions(engine)
    leader = await Candidate(url).start()
    try:
        row = await a_reply(sessions)
        seen: list[str] = []

        def stopped_here(_connection: object, _cursor: object, statement: str, *_: object) -> None:
            if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
                seen.append(status_seen_elsewhere(url, row.id or 0))

        event.listen(engine.sync_engine, "after_cursor_execute", stopped_here)
        claims = db.committed_as_run(sessions)
        fence = leader.leadership.claim_fence()
        assert await claim(claims, row.id, datetime.now(UTC), fence)
        settings = load_settings(DATABASE_URL=url, SEARCHBOT_LANGUAGE="en")
        services = app.services_for(settings, sessions, Doorbell())
        settler = Settler(services, Throttle(30, 20, 1), Metrics(), lambda: None)
        await settler.sent(job_of(row), 7)
        assert seen == ["sending", "sent"]
    finally:
        await leader.leadership.stop()
        await engine.dispose()


async def test_a_fenced_transaction_left_open_is_ended_and_the_row_can_be_claimed_again(
    url: str,
) -> None:
    """A leader stopped (SIGSTOP) inside a transaction with a fenced statement (a release of
    claimed rows, say) holds the rows' locks: the next leader's claim or recovery would wait
    for it as long as it stayed stopped. PostgreSQL ends the idle transaction instead."""
    engine = db.create_engine(url)
    sessions = db.sessions(engine)
    leader = await Candidate(url).start()
    try:
        row = await a_reply(sessions)
        claim = update(OutboxMessage).where(
            col(OutboxMessage.id) == row.id, col(OutboxMessage.status) == OutboxStatus.PENDING
        )
        stopped = sessions()
        taken = await stopped.exec(  # type: ignore[call-overload]
            claim.where(*leader.leadership.claim_fence()).values(status=OutboxStatus.SENDING)
        )
        assert taken.rowcount == 1  # and the "leader" stops here, its transaction open
        async with sessions() as session:  # the next leader's claim waits for the row's lock
            again = await asyncio.wait_for(
                session.exec(claim.values(status=OutboxStatus.SENDING)),  # type: ignore[call-overload]
                10.0,
            )
            await session.commit()
            assert again.rowcount == 1
        with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's "connection closed"
            await stopped.commit()
        await stopped.close()
    finally:
        await leader.leadership.stop()
        await engine.dispose()


async def test_a_commit_with_outbox_rows_wakes_the_leader_and_a_rollback_does_not(
    url: str,
) -> None:
    engine = db.create_engine(url)
    sessions = db.sessions(engine)  # no local doorbell: only NOTIFY can reach the leader
    leader = await Candidate(url).start()
    try:
        now = datetime.now(UTC)
        async with sessions() as session:
            await enqueue(session, 1, Out("rolled back"), kind=Kind.REPLY, now=now)
            await session.rollback()
        await asyncio.sleep(0.3)
        assert leader.woken == 0
        async with sessions() as session:
            await enqueue(session, 1, Out("kept"), kind=Kind.REPLY, now=now)
            await session.commit()
        for _ in range(50):
            if leader.woken:
                break
            await asyncio.sleep(0.02)
        assert leader.woken == 1
    finally:
        await leader.leadership.stop()
        await engine.dispose()
