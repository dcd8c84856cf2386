"""The queries the use cases need, named for what they ask."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..domain.grid import GroupPoint
from .enums import CaseStatus, FoundReportStatus, GroupStatus, OutboxStatus, SightingSource
from .outbox import Kind
from .tables import (
    Alert,
    AuditEntry,
    Case,
    FoundReport,
    Group,
    Officer,
    OutboxMessage,
    Person,
    Sighting,
)


async def groups_in_area(
    session: AsyncSession,
    column: str,
    cells: Sequence[str],
    box: tuple[float, float, float, float],
    *,
    excluding_case: int | None = None,
) -> list[GroupPoint]:
    """Approved groups whose cell (``cell_fine`` or ``cell_coarse``) is one of ``cells`` and
    whose point is inside ``box`` (south, north, west, east), leaving out those already alerted
    for ``excluding_case``."""
    south, north, west, east = box
    query = select(Group.id, Group.chat_id, Group.language, Group.lat, Group.lon, Group.role).where(  # type: ignore[call-overload]
        Group.status == GroupStatus.APPROVED,
        getattr(Group, column).in_(cells),
        col(Group.lat).between(south, north),
        col(Group.lon).between(west, east),
    )
    if excluding_case is not None:
        alerted = select(Alert.group_id).where(Alert.case_id == excluding_case)
        query = query.where(col(Group.id).not_in(alerted))
    # The driver's rows as they come (tuples with these attribute names): thousands per ring,
    # no ORM objects needed.
    rows = await (await session.connection()).execute(query)
    return cast(list[GroupPoint], rows.all())


async def group_by_chat(session: AsyncSession, chat_id: int) -> Group | None:
    return (await session.exec(select(Group).where(Group.chat_id == chat_id))).first()


async def groups_listed(
    session: AsyncSession, status: GroupStatus | None = None
) -> Sequence[Group]:
    query = select(Group).order_by(col(Group.id))
    if status:
        query = query.where(Group.status == status)
    return (await session.exec(query)).all()


async def open_cases(session: AsyncSession) -> Sequence[Case]:
    return (
        await session.exec(
            select(Case).where(Case.status == CaseStatus.OPEN).order_by(col(Case.id))
        )
    ).all()


async def cases_of_reporter(session: AsyncSession, user_id: int) -> Sequence[Case]:
    query = select(Case).where(Case.reporter_user_id == user_id, Case.status == CaseStatus.OPEN)
    return (await session.exec(query.order_by(col(Case.id)))).all()


async def reports_since(session: AsyncSession, user_id: int, since: datetime) -> int:
    query = select(func.count()).where(Case.reporter_user_id == user_id, Case.created_at >= since)
    return int((await session.exec(query)).one())


async def case_counts(session: AsyncSession, case_id: int) -> tuple[int, int, int]:
    """(groups alerted, groups that checked, sightings) for a case."""
    alerted = (
        await session.exec(select(func.count()).where(Alert.case_id == case_id))  # type: ignore[call-overload]
    ).one()
    checked = (
        await session.exec(
            select(func.count()).where(Alert.case_id == case_id, col(Alert.checked_at).is_not(None))  # type: ignore[call-overload]
        )
    ).one()
    sightings = (
        await session.exec(select(func.count()).where(Sighting.case_id == case_id))  # type: ignore[call-overload]
    ).one()
    return int(alerted), int(checked), int(sightings)


async def alert_for_message(
    session: AsyncSession, chat_id: int, message_id: int
) -> OutboxMessage | None:
    """The alert the bot sent as ``message_id`` in ``chat_id`` (for replies to it)."""
    query = select(OutboxMessage).where(
        OutboxMessage.chat_id == chat_id,
        OutboxMessage.message_id == message_id,
        OutboxMessage.kind == Kind.ALERT,
    )
    return (await session.exec(query)).first()


async def alert_of_group(session: AsyncSession, case_id: int, group_id: int) -> Alert | None:
    query = select(Alert).where(Alert.case_id == case_id, Alert.group_id == group_id)
    return (await session.exec(query)).first()


async def alert_by_token(session: AsyncSession, token: str) -> Alert | None:
    """The alert whose "I saw them" link carries ``token``."""
    return (await session.exec(select(Alert).where(Alert.token == token))).first()


async def held_sightings(session: AsyncSession, case_id: int) -> Sequence[Sighting]:
    """Sightings of a case from its alerted groups that the family has not had in full yet
    (neither typed with ``/seen`` by an outsider nor judged not credible), oldest first."""
    query = (
        select(Sighting)
        .where(Sighting.case_id == case_id, col(Sighting.shared_at).is_(None))
        .where(Sighting.source != SightingSource.COMMAND, col(Sighting.credible).is_not(False))
        .order_by(col(Sighting.id))
    )
    return (await session.exec(query)).all()


async def matched_report(session: AsyncSession, case_id: int) -> FoundReport | None:
    """The child found alone an officer matched with this case, while the match stands."""
    query = select(FoundReport).where(
        FoundReport.matched_case_id == case_id,
        FoundReport.status == FoundReportStatus.MATCHED,
    )
    return (await session.exec(query)).first()


async def sent_alerts(session: AsyncSession, case_id: int) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).where(
        OutboxMessage.case_id == case_id,
        OutboxMessage.kind == Kind.ALERT,
        OutboxMessage.status == OutboxStatus.SENT,
    )
    return (await session.exec(query)).all()


async def cancel_pending(session: AsyncSession, case_id: int, kinds: Sequence[str]) -> int:
    """Cancel the case's unsent messages of these kinds; returns how many. Rows already claimed
    (``sending``) are cancelled too: one still waiting for its turn is then skipped, one
    already on the wire is retracted when its message id comes back (its write-back finds it
    no longer ``sending``)."""
    result = await session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(
            col(OutboxMessage.case_id) == case_id,
            col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            col(OutboxMessage.kind).in_(kinds),
        )
        .values(status=OutboxStatus.CANCELLED)
    )
    return int(result.rowcount or 0)


async def officer_ids(session: AsyncSession) -> list[int]:
    query = select(Officer.user_id).where(Officer.active == True)  # noqa: E712
    return list((await session.exec(query)).all())


async def reachable_people(session: AsyncSession, user_ids: Sequence[int]) -> Sequence[Person]:
    query = select(Person).where(col(Person.user_id).in_(user_ids), Person.reachable == True)  # noqa: E712
    return (await session.exec(query)).all()


async def alerts_of_group(session: AsyncSession, group_id: int) -> int:
    query = select(func.count()).where(Alert.group_id == group_id)
    return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def group_requests_since(session: AsyncSession, user_id: int, since: datetime) -> int:
    """How many group requests ``user_id`` sent since ``since`` (from the audit log)."""
    query = select(func.count()).where(
        AuditEntry.actor_user_id == user_id,
        AuditEntry.action == "group_request",
        AuditEntry.at >= since,
    )
    return int((await session.exec(query)).one())  # type: ignore[call-overload]
