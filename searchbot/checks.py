""" "Checked — not here" from a crowd: hundreds of people pressing in the same second.

Every member's press counts once (a second press by the same person is "already noted"), and a
press is answered as soon as it is stored. Presses that arrive while a write is under way are
written together by the next one (a group commit): one statement records a whole batch, so the
database sees a handful of writes for a crowd instead of one transaction per person, and
nobody's answer waits behind everybody else's.

What a press causes besides (its audit entry, the counter on the alert's button that shows
the group how many of its members have checked) is the slow part: it is collected for a second
and done after the answers, one transaction for everything collected, at most one edit of each
alert a second, and through the outbox (lowest lane: alerts, sightings and people's messages go
first; the dispatcher keeps every chat within Telegram's limits).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, cast, func, literal, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Alert, AlertCheck, AuditEntry, Case, Group, OutboxMessage
from searchbot.outbox import COUNTERS, enqueue
from searchbot.services import Services
from searchbot.texts import say

log = logging.getLogger(__name__)

MAX_BATCH = 200  # presses in one statement (SQLite allows 500 terms in a compound SELECT)
COLLECT_SECONDS = 1.0  # the slow part waits this long for more presses, and is done at most
EDIT_GAP = timedelta(seconds=1)  # once this often per alert message

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
    outcome: asyncio.Future[str] = field(repr=False)


class Checks:
    """Records presses in batches and refreshes the alerts' counters behind them."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._dirty: set[tuple[int, int]] = set()  # (case, chat) whose counter is behind
        self._audit: list[tuple[Press, datetime]] = []
        self._wake = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None
        self._last_edit: dict[tuple[int, int], datetime] = {}  # (chat, message) -> when due

    async def press(self, press: Press) -> str:
        """Store one press; returns NEW (counted now), AGAIN (this person had already
        checked) or STALE (no open case alerted this chat)."""
        waiting = _Waiting(press, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="checks-writer")
        return await waiting.outcome

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
                outcomes = await self._record([w.press for w in batch])
            except Exception as error:  # each press's handler hears of it; the next batch goes on
                log.exception("recording %s presses failed", len(batch))
                for waiting in batch:
                    if not waiting.outcome.done():
                        waiting.outcome.set_exception(error)
                continue
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if not waiting.outcome.done():  # its handler may have been cancelled
                    waiting.outcome.set_result(outcome)

    async def _record(self, presses: list[Press]) -> list[str]:
        """One statement for the whole batch; the outcome of each press, in order."""
        unique = list(dict.fromkeys(presses))
        now = self._services.now()
        async with self._services.sessions() as session:
            dialect = session.bind.dialect.name  # type: ignore[union-attr]
            result = await session.exec(_record_statement(dialect, unique, now))  # type: ignore[call-overload]
            counted = {Press(c, chat, u): n for c, chat, u, n in result.all()}
            await session.commit()
        outcomes: list[str] = []
        seen: set[Press] = set()
        for press in presses:
            presses_so_far = counted.get(press)
            if presses_so_far is None:
                outcomes.append(STALE)
            elif press in seen or presses_so_far > 1:
                outcomes.append(AGAIN)  # a second press in the same batch is a repeat too
            else:
                outcomes.append(NEW)
                self._audit.append((press, now))
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
            await asyncio.sleep(COLLECT_SECONDS)  # one edit for a second's worth of presses
            self._wake.clear()
            try:
                await self._catch_up()
            except Exception:  # the counters are a courtesy: try again with the next press
                log.exception("refreshing the check counters failed")

    async def _catch_up(self) -> None:
        dirty, self._dirty = self._dirty, set()
        audit, self._audit = self._audit, []
        try:
            async with self._services.sessions() as session:
                for press, at in audit:
                    session.add(_audit_entry(press, at))
                await self._refresh(session, dirty)
                await session.commit()
        except Exception:
            self._dirty |= dirty
            self._audit = audit + self._audit
            raise

    async def _refresh(self, session: AsyncSession, dirty: set[tuple[int, int]]) -> None:
        """Queue one edit of each alert message whose counter is behind (or bring the edit
        still waiting for its turn up to date)."""
        if not dirty:
            return
        cases = {case for case, _ in dirty}
        chats = {chat for _, chat in dirty}
        counts = await _counts(session, cases, chats)
        languages = await _languages(session, chats)
        waiting = await _waiting_edits(session, chats)
        now = self._services.now()
        for alert in await _open_alert_messages(session, cases, chats):
            key = (alert.case_id or 0, alert.chat_id)
            if key not in dirty or alert.message_id is None:
                continue
            label = say(languages.get(alert.chat_id, "zh"), "btn_checked_count", count=counts[key])
            payload = edit_payload(alert, label)
            target = (alert.chat_id, alert.message_id)
            queued = waiting.get(target, [])
            for row in queued:  # not sent yet: it will carry the newest figure
                row.payload = payload
                session.add(row)
            if queued:
                continue
            due = max(now, self._last_edit.get(target, now - EDIT_GAP) + EDIT_GAP)
            self._last_edit[target] = due
            edit = await enqueue(
                session, alert.chat_id, payload, kind="counter", case_id=alert.case_id,
                lane=COUNTERS, now=now,
            )  # fmt: skip
            if edit is not None:
                edit.next_attempt_at = due
                session.add(edit)


def checks_of(services: Services) -> Checks:
    """The services' recorder of presses (made on first use)."""
    if services.checks is None:
        services.checks = Checks(services)
    checks: Checks = services.checks
    return checks


def edit_payload(alert: OutboxMessage, label: str) -> dict[str, Any]:
    """The alert's own keyboard (whatever buttons it carries), with the Checked button's label
    replaced: only that button changes."""
    wanted = f"ck:{alert.case_id}"
    buttons = [
        [{**button, "text": label} if button.get("data") == wanted else button for button in row]
        for row in alert.payload.get("buttons", [])
    ]
    return {"op": "edit", "message_id": alert.message_id, "buttons": buttons}


def _record_statement(dialect: str, presses: Sequence[Press], now: datetime) -> Any:
    """INSERT the presses that name an open case's alert in that chat; a person already
    counted only adds to ``presses``. RETURNING tells each press's fate."""
    stamp = literal(now, type_=AlertCheck.__table__.c.first_at.type)  # type: ignore[attr-defined]
    sources: list[Any] = [
        select(  # type: ignore[call-overload]
            Alert.id,
            cast(literal(press.user_id), BigInteger),
            Alert.case_id,
            Group.chat_id,
            stamp,
            cast(literal(1), Integer),
        )
        .join(Group, col(Group.id) == col(Alert.group_id))
        .join(Case, col(Case.id) == col(Alert.case_id))
        .where(
            col(Alert.case_id) == press.case_id,
            col(Group.chat_id) == press.chat_id,
            col(Case.status) == "open",
        )
        for press in presses
    ]
    source: Any = sources[0] if len(sources) == 1 else union_all(*sources)
    columns = ["alert_id", "user_id", "case_id", "chat_id", "first_at", "presses"]
    statement: Any = (
        postgresql.insert(AlertCheck) if dialect == "postgresql" else sqlite.insert(AlertCheck)
    ).from_select(columns, source)
    statement = statement.on_conflict_do_update(
        index_elements=["alert_id", "user_id"],
        set_={"presses": col(AlertCheck.presses) + 1},
    )
    return statement.returning(
        col(AlertCheck.case_id),
        col(AlertCheck.chat_id),
        col(AlertCheck.user_id),
        col(AlertCheck.presses),
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
            col(OutboxMessage.kind) == "alert",
            col(OutboxMessage.status) == "sent",
            col(OutboxMessage.case_id).in_(list(cases)),
            col(OutboxMessage.chat_id).in_(list(chats)),
            col(Case.status) == "open",
        )
    )
    return (await session.exec(query)).all()


async def _waiting_edits(
    session: AsyncSession, chats: Iterable[int]
) -> dict[tuple[int, int], list[OutboxMessage]]:
    """Counter edits not sent yet, by (chat, message)."""
    query = select(OutboxMessage).where(
        col(OutboxMessage.kind) == "counter",
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.chat_id).in_(list(chats)),
    )
    waiting: dict[tuple[int, int], list[OutboxMessage]] = {}
    for row in (await session.exec(query)).all():
        waiting.setdefault((row.chat_id, int(row.payload["message_id"])), []).append(row)
    return waiting


__all__ = ["AGAIN", "NEW", "STALE", "Checks", "Press", "checks_of", "edit_payload"]
