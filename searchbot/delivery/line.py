"""The outbox's line: what goes next. Each unsent row with its place in its chat's line, the
round's read of every chat's first row (those due now first), and rows still to send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, bindparam, func, literal, or_, update
from sqlalchemy import case as sql_case
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from searchbot.cases.services import Services
from searchbot.models import OutboxMessage, OutboxStatus
from searchbot.models.outbox import Kind, Lane

PAID_PLACE = 0.5  # where paid rows stand among the lanes: after people, before retractions


@dataclass(frozen=True)
class Job:
    """A claimed row, detached from any session."""

    id: int
    chat_id: int
    case_id: int | None
    kind: str
    lane: Lane
    attempts: int
    payload: dict[str, Any]
    paid: bool = False  # sent with allow_paid_broadcast


def job_of(row: OutboxMessage) -> Job:
    return Job(
        row.id or 0, row.chat_id, row.case_id, row.kind, Lane(row.lane), row.attempts, row.payload,
        bool(row.paid),
    )  # fmt: skip


def unsent_line() -> Subquery:
    """Each unsent row with its place in its chat's line (1: the first) and how many rows the
    line holds. A chat with a row being sent has that row first, so none of its other rows is
    chosen meanwhile."""
    busy_first = sql_case((col(OutboxMessage.status) == OutboxStatus.SENDING, 0), else_=1)
    chat = col(OutboxMessage.chat_id)
    position = func.row_number().over(
        partition_by=chat,
        order_by=(
            busy_first,
            col(OutboxMessage.lane),
            col(OutboxMessage.rank),
            col(OutboxMessage.id),
        ),
    )
    return (
        sql_select(
            col(OutboxMessage.id), chat, col(OutboxMessage.status),
            col(OutboxMessage.next_attempt_at), col(OutboxMessage.lane), col(OutboxMessage.rank),
            col(OutboxMessage.paid),
            position.label("position"), func.count().over(partition_by=chat).label("queued"),
        )
        .where(col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .subquery("line")
    )  # fmt: skip


@dataclass(frozen=True)
class Head:
    """A chat's first unsent row, and how many rows its chat has in line."""

    job: Job
    in_the_air: bool  # claimed by a send (of this process or another)
    next_attempt_at: datetime
    queued: int

    @classmethod
    def of(cls, row: OutboxMessage, queued: int) -> Head:
        sending = row.status == OutboxStatus.SENDING
        return cls(job_of(row), sending, row.next_attempt_at, queued)


@dataclass(frozen=True)
class LineQueries:
    """The round's read, built once: a round runs after many sends, and building the window
    query anew each time cost more CPU than the database spent answering it."""

    everyone: Any  # the chats' first rows, those due at :now first, at most a batch
    excluding: Any  # the same, the chats in :excluded last

    @classmethod
    def build(cls, batch: int) -> LineQueries:
        line = unsent_line()
        waits = or_(
            line.c.status != OutboxStatus.PENDING, line.c.next_attempt_at > bindparam("now")
        )
        excluded = line.c.chat_id.in_(bindparam("excluded", expanding=True))
        first_rows = (
            select(OutboxMessage, line.c.queued)
            .join(line, line.c.id == OutboxMessage.id)
            .where(line.c.position == 1)
        )

        # Paid rows right after the people's: a free row behind a paid burst waits until the
        # burst's second has room for it again, and would hold the burst back meanwhile.
        lane = sql_case((line.c.paid, PAID_PLACE), else_=line.c.lane)

        def ordered(later: Any) -> Any:
            order = (sql_case((later, 1), else_=0), lane, line.c.rank, line.c.id)
            return first_rows.order_by(*order).limit(batch)

        return cls(everyone=ordered(waits), excluding=ordered(or_(waits, excluded)))

    def heads_at(self, now: datetime, excluded: set[int]) -> tuple[Any, dict[str, Any]]:
        """The read and its parameters. The excluded chats' filter only when there are some:
        an empty expanding IN made SQLite plan the read badly, and the first answers of a
        crowd's presses came three times later."""
        if not excluded:
            return self.everyone, {"now": now}
        return self.excluding, {"now": now, "excluded": sorted(excluded)}


_UNSENT = col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
_ANY_UNSENT = sql_select(literal(1)).where(_UNSENT).limit(1)


async def claim(
    claims: AsyncEngine, row_id: int, now: datetime, fence: Sequence[ColumnElement[bool]]
) -> bool:
    """Mark the row ``sending`` if it is still pending and due (not one retried meanwhile) and
    the ``fence`` holds (this process still leads); False if not. ``claims`` commits the
    statement as it runs it (``db.committed_as_run``): a claim is never done and uncommitted."""
    async with claims.begin() as connection:
        result = await connection.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == row_id,
                col(OutboxMessage.status) == OutboxStatus.PENDING,
                col(OutboxMessage.next_attempt_at) <= now,
            )
            .where(*fence)
            .values(status=OutboxStatus.SENDING)
        )
    return bool(result.rowcount)


async def outbox_empty(engine: AsyncEngine) -> bool:
    """No row left to send. On a connection of its own rather than a session: a rehearsal asks
    after every step it takes (a tenth of the test suite's CPU went to asking), and a session
    costs as much again as the query."""
    async with engine.connect() as connection:
        return (await connection.execute(_ANY_UNSENT)).first() is None


async def pending_count(services: Services) -> int:
    """Rows still to send (for tests, the demo and metrics)."""
    async with services.sessions() as session:
        query = select(func.count()).where(_UNSENT)
        return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def recover(services: Services) -> int:
    """Rows left ``sending`` by a crash go back to ``pending``; returns how many of them were
    group alerts. Such an alert may have reached its group before the crash without the bot
    learning its message id: sent again, the group sees it twice. A row is claimed just before
    its slot, so these are at most the sends in flight and the row waiting for its slot (and
    with paid broadcast the chunks claimed and the sends not written back)."""
    async with services.sessions() as session:  # one statement: the count is of these rows
        kinds = await session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING)
            .returning(col(OutboxMessage.kind))
        )
        count = sum(1 for kind in kinds.scalars() if kind == Kind.ALERT)
        await session.commit()
    return count
