"""The composition root's pieces, each given what it needs when it is made: the doorbell that
wakes the dispatcher, rung by the sessions' commits; the typed statuses the tables hand back.
(The running bot's dispatcher answering it is what every end-to-end test relies on.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from searchbot.models import OutboxMessage, OutboxStatus, db
from searchbot.models.db import Sessions
from searchbot.models.doorbell import Doorbell
from searchbot.models.outbox import Lane, enqueue


class Listener:
    """Stands where the dispatcher stands: counts what reaches it."""

    def __init__(self) -> None:
        self.wakes = 0
        self.direct: list[int] = []

    def wake(self) -> None:
        self.wakes += 1

    def note_direct_send(self, chat_id: int) -> None:
        self.direct.append(chat_id)


@pytest.fixture
async def rung(database_url: str) -> AsyncIterator[tuple[Doorbell, Sessions]]:
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    doorbell = Doorbell()
    try:
        yield doorbell, db.sessions(engine, doorbell.ring)
    finally:
        await engine.dispose()


async def _write_row(sessions: Sessions, commit: bool) -> None:
    async with sessions() as session:
        await enqueue(
            session, 42, {"op": "send", "text": "hi"}, kind="reply", now=datetime.now(UTC)
        )
        if commit:
            await session.commit()
        else:
            await session.rollback()


async def test_a_commit_with_outbox_rows_rings_the_doorbell_once_answered(
    rung: tuple[Doorbell, Sessions],
) -> None:
    doorbell, sessions = rung
    listener = Listener()
    await _write_row(sessions, commit=True)  # nobody answers yet: nothing lost, nothing raised
    doorbell.answer(listener)
    await _write_row(sessions, commit=True)
    await _write_row(sessions, commit=False)  # rolled back: no rows, no ring
    async with sessions() as session:  # a commit without outbox rows does not ring
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        await session.commit()
    doorbell.note_direct_send(7)
    assert (listener.wakes, listener.direct) == (1, [7])
    doorbell.release(listener)
    await _write_row(sessions, commit=True)
    doorbell.note_direct_send(8)
    assert (listener.wakes, listener.direct) == (1, [7])


async def test_rows_come_back_typed(rung: tuple[Doorbell, Sessions]) -> None:
    _, sessions = rung
    await _write_row(sessions, commit=True)
    async with sessions() as session:
        row = (await session.exec(text("SELECT status FROM outbox"))).one()  # type: ignore[call-overload]
        assert row[0] == "pending"  # the database keeps the plain string...
        stored = (await session.exec(select(OutboxMessage))).first()
    assert stored is not None
    assert type(stored.status) is OutboxStatus and stored.status is OutboxStatus.PENDING  # ...typed
    assert stored.lane == Lane.PEOPLE
