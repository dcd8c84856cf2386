"""Nobody forgets an open case: officers are reminded of a case waiting for verification, of
a case still open at its widest ring, and loudly of one open for more than a day.

The last reminder's time is a column; a reminder is claimed with a conditional update on it,
so each goes out once even with two bot processes. This module decides which reminders are due
and claims them; ``notify`` words them (``CaseStillOpen``, ``VerificationOverdue``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.events import CaseStillOpen, VerificationOverdue
from searchbot.models import Case, CaseStatus


class Waiting(StrEnum):
    """What an open case without a scheduled stage waits for: an officer's verification, or a
    find (at its widest ring)."""

    VERIFY = "verify"
    FIND = "open"


def _kind(services: Services, case: Case) -> Waiting | None:
    """What this case is waiting for: an officer's verification, or a find; None while a
    stage is still scheduled."""
    if case.next_stage_at is not None:
        return None
    if case.stage + 1 < len(services.settings.escalation) and case.verified_at is None:
        return Waiting.VERIFY  # also a case whose very first ring waits (stage -1)
    return Waiting.FIND


def _due_at(services: Services, case: Case, kind: Waiting) -> datetime:
    settings = services.settings
    interval = settings.verify_reminder if kind == Waiting.VERIFY else settings.open_reminder
    return (case.reminded_at or case.created_at) + interval


async def tick(services: Services) -> int:
    """Send the reminders that are due; returns how many cases were reminded of. Cases waiting
    for verification share one reminder message (see ``digests``)."""
    now = services.now()
    async with services.sessions() as session:
        query = select(Case).where(
            Case.status == CaseStatus.OPEN, col(Case.next_stage_at).is_(None)
        )
        waiting = (await session.exec(query)).all()
    due = [c for c in waiting if (k := _kind(services, c)) and _due_at(services, c, k) <= now]
    verify = [c for c in due if _kind(services, c) == Waiting.VERIFY]
    reminded = await _remind_verify(services, verify, waiting) if verify else 0
    for case in due:
        if case not in verify and await _remind(services, case):
            reminded += 1
    return reminded


async def _remind_verify(services: Services, due: list[Case], waiting: Sequence[Case]) -> int:
    """One reminder lists every case waiting for verification; each counts as reminded."""
    async with services.sessions() as session:
        claimed = [case for case in due if await _claim(session, case, services.now())]
        if not claimed:
            return 0  # another process reminded of them
        for case in waiting:
            if case not in due and _kind(services, case) == Waiting.VERIFY:
                await _claim(session, case, services.now())
        await services.publish(session, VerificationOverdue())
        await session.commit()
    return len(claimed)


async def _remind(services: Services, case: Case) -> bool:
    async with services.sessions() as session:
        if not await _claim(session, case, services.now()):
            return False
        await services.publish(session, CaseStillOpen(case.id or 0))
        await session.commit()
    return True


async def _claim(session: AsyncSession, case: Case, now: datetime) -> bool:
    last = col(Case.reminded_at)
    claim = (
        update(Case)
        .where(col(Case.id) == case.id, col(Case.status) == CaseStatus.OPEN)
        .where(last.is_(None) if case.reminded_at is None else last == case.reminded_at)
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(claim)  # type: ignore[call-overload]
    return bool(result.rowcount == 1)
