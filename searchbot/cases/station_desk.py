"""The stations' desk: city administrators list the stations; a station's administrators
appoint and remove its officers in its officers' group."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.cases.stations import Precinct
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer
from searchbot.models import (
    Case,
    CaseStatus,
    Group,
    GroupStatus,
    OutboxMessage,
    OutboxStatus,
    StationOfficer,
)
from searchbot.models.outbox import FOR_OFFICERS
from searchbot.words.texts import say


async def list_stations(services: Services, actor: Actor) -> Answer:
    """/stations (city administrators): each station, its officers' group and its load."""
    lang = actor.language
    if not services.officers.is_admin(actor.user_id):
        return Answer().say(say(lang, "admins_only"))
    async with services.sessions() as session:
        directory = await services.officers.directory(session)
        cases = await _count_by_station(session, Case, col(Case.status) == CaseStatus.OPEN)
        groups = await _count_by_station(session, Group, col(Group.status) == GroupStatus.APPROVED)
        appointed = select(StationOfficer.station_id, func.count()).group_by(
            col(StationOfficer.station_id)
        )
        officers: dict[int | None, int] = dict((await session.exec(appointed)).all())
    if not directory.imported:
        return Answer().say(say(lang, "stations_none"))
    lines = [say(lang, "stations_title", count=len(directory.imported))]
    for station in (*directory.imported, directory.default):
        if station.id is None and not cases.get(None) and not groups.get(None):
            continue  # the default station, when nothing is left in it
        lines.append(
            say(
                lang,
                "stations_line",
                name=station.name,
                chat=station.officer_chat_id or "—",
                officers=officers.get(station.id, 0) + len(station.admin_ids),
                groups=groups.get(station.id, 0),
                cases=cases.get(station.id, 0),
            )  # fmt: skip
        )
    return Answer().say("\n".join(lines))


async def _count_by_station(
    session: AsyncSession, table: type[Case] | type[Group], where: object
) -> dict[int | None, int]:
    query = select(table.station_id, func.count()).where(where).group_by(col(table.station_id))  # type: ignore[arg-type]
    return {station: int(count) for station, count in (await session.exec(query)).all()}


async def appoint(
    services: Services, actor: Actor, station: Precinct, action: str | None, user_id: int | None
) -> Answer:
    """``/officer add|remove USER_ID`` in an imported station's officers' group, by one of its
    administrators (or a city administrator)."""
    lang = actor.language
    assert station.id is not None
    if not (services.officers.is_admin(actor.user_id) or actor.user_id in station.admin_ids):
        return Answer().say(say(lang, "admins_only"))
    if action not in ("add", "remove") or user_id is None or user_id <= 0:
        return Answer().say(say(lang, "officer_usage"))
    async with services.sessions() as session:
        row = await session.get(StationOfficer, (station.id, user_id))
        if action == "add" and row is None:
            session.add(
                StationOfficer(
                    station_id=station.id,
                    user_id=user_id,
                    added_by=actor.user_id,
                    added_at=services.now(),
                )  # fmt: skip
            )
        elif action == "remove" and row is not None:
            await session.delete(row)
            await session.flush()
            if not await services.officers.still_officer(session, user_id):
                await cancel_officer_news(session, user_id)
        await services.audit.record(
            session, actor.user_id, f"officer_{action}", target=user_id, station=station.name
        )
        await session.commit()
    key = "station_officer_added" if action == "add" else "station_officer_removed"
    return Answer(menus_for=[user_id]).say(say(lang, key, user_id=user_id, station=station.name))


async def cancel_officer_news(session: AsyncSession, user_id: int) -> None:
    """A removed officer gets nothing more about cases: what was still queued for their
    private chat as officers' news (cards, pins, sightings, requests, notices) is cancelled;
    what they get as a family (about a case they reported) stays."""
    own = set((await session.exec(select(Case.id).where(Case.reporter_user_id == user_id))).all())
    queued = await session.exec(
        select(OutboxMessage).where(
            OutboxMessage.chat_id == user_id, OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    for row in queued.all():
        officers_news = row.payload.get(FOR_OFFICERS) or (
            row.case_id is not None and row.case_id not in own
        )
        if officers_news:
            row.status, row.last_error = OutboxStatus.CANCELLED, "no longer an officer"
            session.add(row)
