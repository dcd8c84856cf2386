"""Rings that widen by themselves.

A case's next stage is a due time in the ``cases`` row. The tick claims due cases one by one
in their own transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional update
everywhere), fires the stage and enqueues its alerts in that same transaction: a stage fires
once, even across restarts and with two bot processes on one database.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from operator import itemgetter

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import borders
from searchbot.cases.services import Services
from searchbot.domain.events import GroupsAlerted, StageReached
from searchbot.domain.grid import GroupPoint, bounding_box, cover, within
from searchbot.models import Alert, Case, CaseStatus, Sighting
from searchbot.models import queries as q
from searchbot.words.cards import case_status

log = logging.getLogger(__name__)


def next_due(services: Services, case: Case) -> datetime | None:
    """When the stage after ``case.stage`` should go out; None if there is none or it must
    wait for an officer's verification."""
    stages = services.settings.escalation
    following = case.stage + 1
    if following >= len(stages):
        return None
    if not may_alert_unverified(services, following) and case.verified_at is None:
        return None
    return case.created_at + stages[following].after


def may_alert_unverified(services: Services, index: int) -> bool:
    """Whether stage ``index`` may go out before an officer verifies the case."""
    return index < services.settings.unverified_stages


async def open_case(services: Services, session: AsyncSession, case: Case) -> int | None:
    """A confirmed case: its first ring goes out now, or (when even the first must wait for
    an officer) it waits for verification; returns the groups alerted, None when held."""
    if may_alert_unverified(services, 0):
        return await fire_stage(services, session, case, 0)
    case.next_stage_at = None
    session.add(case)
    return None


async def fire_stage(services: Services, session: AsyncSession, case: Case, index: int) -> int:
    """Alert every approved group within stage ``index``'s radius not yet alerted for the
    case, nearest first; returns how many. The caller commits."""
    radius = services.settings.escalation[index].radius_m
    count = await alert_ring(services, session, case, radius, index)
    case.stage = index
    case.next_stage_at = next_due(services, case)
    session.add(case)
    await services.audit.record(session, None, "stage", case.id, stage=index, groups=count)
    return count


async def alert_ring(
    services: Services,
    session: AsyncSession,
    case: Case,
    radius_m: float,
    stage: int,
    seen: Sighting | None = None,
) -> int:
    """Alert the approved groups within ``radius_m`` of the case's centre not yet alerted for
    it; with ``seen``, the alert says "seen here" with that sighting's time and photo (the
    alerts themselves are ``notify``'s).

    The rows go in as one bulk insert: the query already leaves out alerted groups, and the
    unique keys on alerts and outbox rows stop a second alert should two firings race."""
    targets = await groups_within(session, case, radius_m)
    if targets:
        now = services.now()
        tokens = [new_token() for _ in targets]
        await session.exec(  # type: ignore[call-overload]
            insert(Alert),
            params=[
                {"case_id": case.id, "group_id": g.id, "stage": stage, "distance_m": d,
                 "created_at": now, "token": token}
                for (d, g), token in zip(targets, tokens, strict=True)
            ],
        )  # fmt: skip
        assert case.id is not None
        alerted = GroupsAlerted(
            case.id, radius_m, tuple(targets), tuple(tokens), seen.id if seen else None
        )
        await services.publish(session, alerted)
    await borders.ring_reached(services, session, case, radius_m, stage)
    return len(targets)


_POSITION = itemgetter(GroupPoint._fields.index("lat"), GroupPoint._fields.index("lon"))


async def groups_within(
    session: AsyncSession, case: Case, radius_m: float
) -> list[tuple[float, GroupPoint]]:
    """Approved, not yet alerted groups within ``radius_m`` of the case's centre, nearest first."""
    centre = (case.center_lat, case.center_lon)
    area = cover(*centre, radius_m)
    candidates = await q.groups_in_area(
        session, area.column, area.cells, bounding_box(*centre, radius_m), excluding_case=case.id
    )
    return within(centre, radius_m, candidates, _POSITION)


def new_token() -> str:
    """An alert's deep-link token: 96 random bits, URL-safe (a /start payload allows
    A-Z, a-z, 0-9, _ and -)."""
    return secrets.token_urlsafe(12)


async def tick(services: Services, limit: int = 20) -> int:
    """Fire every stage that is due; returns how many fired."""
    fired = 0
    async with services.sessions() as session:
        due = await _due_case_ids(session, services.now(), limit)
    for case_id in due:
        if await _fire_if_due(services, case_id):
            fired += 1
    return fired


async def _due_case_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    query = (
        select(Case.id)
        .where(Case.status == CaseStatus.OPEN, col(Case.next_stage_at).is_not(None))
        .where(col(Case.next_stage_at) <= now)
        .order_by(col(Case.next_stage_at))
        .limit(limit)
    )
    return [case_id for case_id in (await session.exec(query)).all() if case_id is not None]


async def _fire_if_due(services: Services, case_id: int) -> bool:
    now = services.now()
    async with services.sessions() as session:
        case = await _lock_due(session, case_id, now)
        if case is None:
            return False
        index = case.stage + 1
        if not await _claim_stage(session, case, due_by=now):
            return False
        count = await fire_stage(services, session, case, index)
        await services.publish(session, StageReached(case_id, index, count))
        await session.commit()
    log.info("case %s stage %s fired: %s groups", case_id, index + 1, count)
    return True


async def _lock_due(session: AsyncSession, case_id: int, now: datetime) -> Case | None:
    """The case if its stage is still due; on PostgreSQL also row-locked (another process that
    holds it is skipped rather than waited for)."""
    query = (
        select(Case)
        .where(Case.id == case_id, Case.status == CaseStatus.OPEN, col(Case.next_stage_at) <= now)
        .execution_options(populate_existing=True)
    )
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        query = query.with_for_update(skip_locked=True)
    return (await session.exec(query)).first()


async def _claim_stage(session: AsyncSession, case: Case, due_by: datetime | None = None) -> bool:
    """Move the case from its current stage to the next, only if nobody else did: the
    conditional update is what makes a stage fire once (SQLite has no row locks)."""
    claim = (
        update(Case)
        .where(
            col(Case.id) == case.id,
            col(Case.stage) == case.stage,
            col(Case.status) == CaseStatus.OPEN,
        )
        .values(next_stage_at=None, stage=case.stage + 1)
        .execution_options(synchronize_session=False)
    )
    if due_by is not None:
        claim = claim.where(col(Case.next_stage_at) <= due_by)
    result = await session.exec(claim)  # type: ignore[call-overload]
    return bool(result.rowcount == 1)


def status_line(services: Services, case: Case, lang: str, counts: tuple[int, int, int]) -> str:
    return case_status(case, lang, services.settings, *counts)


async def stop(session: AsyncSession, case: Case) -> None:
    """Closing: no stage will fire again for this case."""
    case.next_stage_at = None
    session.add(case)


async def escalate_now(services: Services, session: AsyncSession, case: Case) -> int | None:
    """Fire the next stage immediately; None when the case is at its widest ring (or another
    officer's tap got there first)."""
    index = case.stage + 1
    if index >= len(services.settings.escalation) or not await _claim_stage(session, case):
        return None
    return await fire_stage(services, session, case, index)
