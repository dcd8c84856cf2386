""" "Checked — not here" from a crowd: hundreds of people pressing in the same second.

Every member's press counts once (a second press by the same person is "already noted"). A
press Telegram delivered from the alert's own button is answered at once, before the database
has it; any other is answered once the database has judged it. Presses that arrive while a
write is under way are written together by the next one (a group commit): one statement records
a whole batch (the database counts each person once, whatever this process believed), so a
crowd is a handful of writes instead of a transaction per person.

What a press causes besides (its audit entry, the counter on the alert's button that shows
the group how many of its members have checked) is the slow part, done once per burst: when
presses have stopped coming for half a second (or at the latest five seconds after the first),
one transaction for everything collected, at most one edit of each alert a second, and through
the outbox (lowest lane: alerts, sightings and people's messages go first; the dispatcher keeps
every chat within Telegram's limits).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, func, or_, text
from sqlalchemy.engine import Dialect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.clock import Clock, as_utc
from searchbot.models import (
    AlertCheck,
    AuditEntry,
    Case,
    CaseStatus,
    Group,
    OutboxMessage,
    OutboxStatus,
)
from searchbot.models.db import Sessions
from searchbot.models.outbox import COUNTERS, Kind, edit_buttons_op, mark
from searchbot.words.buttons import Checked
from searchbot.words.texts import say

log = logging.getLogger(__name__)

SEEN_LIMIT = 100_000
RETRIES, RETRY_SECONDS = 5, 1.0
MAX_BATCH = 200  # presses in one statement (SQLite allows 500 terms in a compound SELECT)
COLLECT_SECONDS = 1.0  # the slow part waits at least this long for more presses,
QUIET_SECONDS = 0.5  # until none came for this long,
LATEST_SECONDS = 5.0  # but no longer than this after the first
EDIT_GAP = timedelta(seconds=1)  # and edits one alert message at most once this often

NEW, AGAIN, STALE = "new", "again", "stale"


@dataclass(frozen=True)
class Press:
    """Somebody pressed "Checked — not here" for ``case_id`` on a message in ``chat_id``."""

    case_id: int
    chat_id: int
    user_id: int


@dataclass
class _Waiting:
    press: Press
    at: datetime
    outcome: asyncio.Future[str] = field(repr=False)
    attempts: int = 0


class Checks:
    """Records presses in batches and refreshes the alerts' counters behind them."""

    def __init__(self, sessions: Sessions, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._dirty: set[tuple[int, int]] = set()  # (case, chat) whose counter is behind
        self._audit: list[tuple[Press, datetime]] = []
        self._wake = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None
        self._catching_up = False
        self._last_press = 0.0  # loop time of the latest press
        self._seen: set[Press] = set()  # presses queued by this process (for the toast only)

    async def press(self, press: Press) -> str:
        """Store one press, then tell its fate: NEW (counted now), AGAIN (this person had
        already checked) or STALE (no open case alerted this chat)."""
        return await self._queue_press(press)

    def press_now(self, press: Press) -> str:
        """Queue a press made on the alert's own button and tell at once what it most likely
        is (AGAIN if this process has seen it before, else NEW), so the button is answered
        without waiting for the database; the count itself is decided there all the same."""
        outcome = AGAIN if press in self._seen else NEW
        self._queue_press(press)
        return outcome

    @property
    def busy(self) -> bool:
        """Presses not stored yet, or their slow part not done yet."""
        return bool(self._queue or self._dirty or self._audit or self._catching_up) or not (
            self._writer is None or self._writer.done()
        )

    def _queue_press(self, press: Press) -> asyncio.Future[str]:
        if len(self._seen) > SEEN_LIMIT:  # only a toast depends on it: forget, do not grow
            self._seen.clear()
        self._seen.add(press)
        self._last_press = asyncio.get_running_loop().time()
        waiting = _Waiting(press, self._clock(), asyncio.get_running_loop().create_future())
        waiting.outcome.add_done_callback(_consume)  # nobody awaits a press answered at once
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="checks-writer")
        return waiting.outcome

    async def stop(self) -> None:
        """Finish the writes under way and the slow part collected so far."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
            self._refresher = None
        if self._dirty or self._audit:
            await self._catch_up()

    # --- the presses: a group commit ---------------------------------------------------------

    async def _write(self) -> None:
        await asyncio.sleep(0)  # presses handled in this same moment join the first batch
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                outcomes = await self._record(batch)
            except Exception as error:  # a database hiccup: try again, a few times
                log.exception("recording %s presses failed", len(batch))
                again = [w for w in batch if w.attempts < RETRIES]
                for waiting in batch:
                    waiting.attempts += 1
                    if waiting not in again and not waiting.outcome.done():
                        waiting.outcome.set_exception(error)
                self._queue = again + self._queue
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if not waiting.outcome.done():  # its handler may have been cancelled
                    waiting.outcome.set_result(outcome)

    async def _record(self, batch: list[_Waiting]) -> list[str]:
        """One statement for the whole batch; the outcome of each press, in order."""
        first = {w.press: w.at for w in reversed(batch)}  # each press once, at its first time
        times = Counter(w.press for w in batch)  # and how often it came in this batch
        async with self._sessions() as session:
            dialect = session.bind.dialect  # type: ignore[union-attr]
            statement = _record_statement(dialect, first.items(), times)
            result = await session.exec(statement)  # type: ignore[call-overload]
            counted = {Press(c, chat, u): n for c, chat, u, n in result.all()}
            await session.commit()
        outcomes: list[str] = []
        seen: set[Press] = set()
        for waiting in batch:
            press = waiting.press
            presses_so_far = counted.get(press)
            if presses_so_far is None:
                outcomes.append(STALE)
            elif press in seen or presses_so_far > times[press]:
                outcomes.append(AGAIN)  # a second press in the same batch is a repeat too
            else:
                outcomes.append(NEW)
                self._audit.append((press, waiting.at))
                self._dirty.add((press.case_id, press.chat_id))
            seen.add(press)
        if self._dirty:
            self._wake.set()
            self._ensure_refresher()
        return outcomes

    # --- the slow part: audit entries and counters -------------------------------------------

    def _ensure_refresher(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_loop(), name="checks-counters")

    async def _refresh_loop(self) -> None:
        while True:
            await self._wake.wait()
            await self._burst_over()
            self._wake.clear()
            try:
                await self._catch_up()
            except Exception:  # the counters are a courtesy: try again with the next press
                log.exception("refreshing the check counters failed")

    async def _burst_over(self) -> None:
        """Wait until the presses stop (one edit per burst), within bounds."""
        loop = asyncio.get_running_loop()
        latest = loop.time() + LATEST_SECONDS
        await asyncio.sleep(COLLECT_SECONDS)
        while loop.time() < latest:
            quiet_from = self._last_press + QUIET_SECONDS
            if loop.time() >= quiet_from:
                return
            await asyncio.sleep(min(quiet_from, latest) - loop.time())

    async def _catch_up(self) -> None:
        dirty, self._dirty = self._dirty, set()
        audit, self._audit = self._audit, []
        self._catching_up = True
        try:
            async with self._sessions() as session:
                for press, at in audit:
                    session.add(_audit_entry(press, at))
                await self._refresh(session, dirty)
                await session.commit()
        except Exception:
            self._dirty |= dirty
            self._audit = audit + self._audit
            raise
        finally:
            self._catching_up = False

    async def _refresh(self, session: AsyncSession, dirty: set[tuple[int, int]]) -> None:
        """Queue one edit of each alert message whose counter is behind (or bring the edit
        still waiting for its turn up to date)."""
        if not dirty:
            return
        cases = {case for case, _ in dirty}
        chats = {chat for _, chat in dirty}
        counts = await _counts(session, cases, chats)
        languages = await _languages(session, chats)
        now = self._clock()
        edits = await _recent_edits(session, chats, now - EDIT_GAP)
        for alert in await _open_alert_messages(session, cases, chats):
            key = (alert.case_id or 0, alert.chat_id)
            if key not in dirty or alert.message_id is None:
                continue
            label = say(languages.get(alert.chat_id, "zh"), "btn_checked_count", count=counts[key])
            payload = edit_payload(alert, label)
            recent = edits.get((alert.chat_id, alert.message_id), _Edits())
            for row in recent.pending:  # not sent yet: it will carry the newest figure
                row.payload = payload
                session.add(row)
            if recent.pending:
                continue
            if recent.sending:  # on its way: the next edit waits until it is done
                self._dirty.add(key)
                self._wake.set()
                continue
            due = max(now, recent.sent_at + EDIT_GAP) if recent.sent_at else now
            session.add(
                OutboxMessage(
                    case_id=alert.case_id, chat_id=alert.chat_id, kind=Kind.COUNTER,
                    lane=COUNTERS, payload=payload, next_attempt_at=due, created_at=now,
                )
            )  # fmt: skip
            mark(session)  # its commit wakes the dispatcher


def _consume(outcome: asyncio.Future[str]) -> None:
    """Retrieve a failure nobody awaited (it was logged), so asyncio does not warn of it."""
    if not outcome.cancelled():
        outcome.exception()


def edit_payload(alert: OutboxMessage, label: str) -> dict[str, Any]:
    """The alert's own keyboard (whatever buttons it carries), with the Checked button's label
    replaced: only that button changes."""
    wanted = Checked(alert.case_id or 0).encode()
    buttons = [
        [{**button, "text": label} if button.get("data") == wanted else button for button in row]
        for row in alert.payload.get("buttons", [])
    ]
    return edit_buttons_op(alert.message_id or 0, buttons)


# One statement for a whole batch, its text the same whatever the batch: the presses travel as
# one JSON parameter. (Built as an expression, a batch of 200 presses was a 200-way UNION that
# SQLAlchemy had to build and compile anew each time: most of a burst's CPU.) A press counts if
# it names an open case's alert in that chat; a person already counted only adds to
# ``presses``; RETURNING tells each press's fate.
_PRESSES_FROM = {
    "sqlite": """(SELECT json_extract(value, '$.case_id') AS case_id,
                         json_extract(value, '$.chat_id') AS chat_id,
                         json_extract(value, '$.user_id') AS user_id,
                         json_extract(value, '$.first_at') AS first_at,
                         json_extract(value, '$.presses') AS presses
                  FROM json_each(:presses)) AS p""",
    "postgresql": """jsonb_to_recordset(CAST(:presses AS jsonb))
                     AS p(case_id integer, chat_id bigint, user_id bigint, first_at timestamptz,
                        presses integer)""",
}
_RECORD_SQL = """
INSERT INTO alert_checks (alert_id, user_id, case_id, chat_id, first_at, presses)
SELECT alerts.id, p.user_id, alerts.case_id, groups.chat_id, p.first_at, p.presses
FROM {presses}
JOIN groups ON groups.chat_id = p.chat_id
JOIN alerts ON alerts.group_id = groups.id AND alerts.case_id = p.case_id
JOIN cases ON cases.id = alerts.case_id
WHERE cases.status = :open
ON CONFLICT (alert_id, user_id) DO UPDATE SET presses = alert_checks.presses + excluded.presses
RETURNING case_id, chat_id, user_id, presses
"""


def _record_statement(
    dialect: Dialect, presses: Iterable[tuple[Press, datetime]], times: Counter[Press]
) -> TextClause:
    """The batch's INSERT: each press once (PostgreSQL refuses to touch a row twice in one
    statement) with how often it came, its first time as the column stores it."""
    column = AlertCheck.__table__.c.first_at.type  # type: ignore[attr-defined]
    stored = column.dialect_impl(dialect).bind_processor(dialect)  # to the stored value
    postgres = dialect.name == "postgresql"

    def stamp(at: datetime) -> Any:
        # PostgreSQL casts the text to timestamptz; SQLite keeps the column's own text
        return as_utc(at).isoformat() if postgres or stored is None else stored(at)

    rows = [
        {
            "case_id": p.case_id,
            "chat_id": p.chat_id,
            "user_id": p.user_id,
            "first_at": stamp(at),
            "presses": times[p],
        }
        for p, at in presses
    ]
    source = _PRESSES_FROM["postgresql" if postgres else "sqlite"]
    return text(_RECORD_SQL.format(presses=source)).bindparams(
        presses=json.dumps(rows), open=CaseStatus.OPEN.value
    )


def _audit_entry(press: Press, at: datetime) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor_user_id=press.user_id,
        action="checked",
        case_id=press.case_id,
        detail={"chat_id": press.chat_id},
    )


async def _counts(
    session: AsyncSession, cases: Iterable[int], chats: Iterable[int]
) -> dict[tuple[int, int], int]:
    """Members who checked, per (case, chat)."""
    query = (
        select(AlertCheck.case_id, AlertCheck.chat_id, func.count())
        .where(col(AlertCheck.case_id).in_(list(cases)), col(AlertCheck.chat_id).in_(list(chats)))
        .group_by(col(AlertCheck.case_id), col(AlertCheck.chat_id))
    )
    return {(case, chat): int(n) for case, chat, n in (await session.exec(query)).all()}


async def _languages(session: AsyncSession, chats: Iterable[int]) -> dict[int, str]:
    query = select(Group.chat_id, Group.language).where(col(Group.chat_id).in_(list(chats)))
    return dict((await session.exec(query)).all())


async def _open_alert_messages(
    session: AsyncSession, cases: Iterable[int], chats: Iterable[int]
) -> Sequence[OutboxMessage]:
    """The alerts sent (and not retracted) for these open cases into these chats."""
    query = (
        select(OutboxMessage)
        .join(Case, col(Case.id) == col(OutboxMessage.case_id))
        .where(
            col(OutboxMessage.kind) == Kind.ALERT,
            col(OutboxMessage.status) == OutboxStatus.SENT,
            col(OutboxMessage.case_id).in_(list(cases)),
            col(OutboxMessage.chat_id).in_(list(chats)),
            col(Case.status) == CaseStatus.OPEN,
        )
    )
    return (await session.exec(query)).all()


@dataclass
class _Edits:
    """The counter edits of one message that decide when the next one may go."""

    pending: list[OutboxMessage] = field(default_factory=list)
    sending: bool = False
    sent_at: datetime | None = None  # the latest, if within the last EDIT_GAP


async def _recent_edits(
    session: AsyncSession, chats: Iterable[int], since: datetime
) -> dict[tuple[int, int], _Edits]:
    """Counter edits not sent yet, being sent, or sent since ``since``, by (chat, message)."""
    query = select(OutboxMessage).where(
        col(OutboxMessage.kind) == Kind.COUNTER,
        col(OutboxMessage.chat_id).in_(list(chats)),
        or_(
            col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            col(OutboxMessage.sent_at) >= since,
        ),
    )
    edits: dict[tuple[int, int], _Edits] = {}
    for row in (await session.exec(query)).all():
        state = edits.setdefault((row.chat_id, int(row.payload["message_id"])), _Edits())
        if row.status == OutboxStatus.PENDING:
            state.pending.append(row)
        elif row.status == OutboxStatus.SENDING:
            state.sending = True
        elif row.sent_at is not None:
            sent_at = as_utc(row.sent_at)
            state.sent_at = max(state.sent_at or sent_at, sent_at)
    return edits


__all__ = ["AGAIN", "NEW", "STALE", "Checks", "Press", "edit_payload"]
