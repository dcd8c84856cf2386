"""Borders between stations: a ring that reaches into another station's area tells that
station once; its officers may join the search; the owning station may hand the case over.

Rings ignore borders (every approved group within the radius is alerted, whichever station it
belongs to). Only the owner verifies, widens, closes and hands over; a station that joined gets
the sightings, may judge them, and sees the case in its lists."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.cases.stations import Precinct
from searchbot.domain.actors import Actor
from searchbot.domain.events import CaseHandedOver, RingCrossedBorder, StationJoined
from searchbot.domain.messages import Answer, Out
from searchbot.models import Case, CaseStation, CaseStatus
from searchbot.models.stations import reached
from searchbot.words.buttons import HandOver
from searchbot.words.texts import ref, say


async def ring_reached(
    services: Services, session: AsyncSession, case: Case, radius_m: float, stage: int
) -> None:
    """After a ring: every other station whose area it reached for the first time gets a
    row (told once: the key is case and station) and is told."""
    directory = await services.officers.directory(session)
    stations = directory.reached(case.center_lat, case.center_lon, radius_m)
    others = [s.id for s in stations if s.id is not None and s.id != case.station_id]
    if not others or case.id is None:
        return
    known = {row.station_id for row in await reached(session, case.id)}
    for station_id in others:
        if station_id in known:
            continue
        session.add(
            CaseStation(
                case_id=case.id, station_id=station_id, stage=stage, notified_at=services.now()
            )
        )
        await services.publish(session, RingCrossedBorder(case.id, station_id, stage, radius_m))


async def _acting(
    services: Services, session: AsyncSession, actor: Actor
) -> set[int | None] | None:
    """The stations the actor acts for here: in an officers' group, that group's station
    (a city administrator too); in private, theirs (None: every one)."""
    if not actor.in_private:
        station = (await services.officers.directory(session)).by_officer_chat(actor.chat_id)
        if station is not None and services.officers.is_admin(actor.user_id):
            return {station.id}
    return await services.officers.stations_for(session, actor)


async def join(services: Services, actor: Actor, case_id: int, station_id: int) -> Answer:
    """**Join** on a border notice: the station it names joins, if the ring reached it and the
    actor acts for it."""
    lang = actor.language
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        stations = await _acting(services, session, actor)
        allowed = stations is None or station_id in stations
        rows = await reached(session, case_id) if case is not None and allowed else []
        mine = [r for r in rows if r.station_id == station_id]
        if case is None or not mine:
            text = say(lang, "officers_only")
            return Answer(toast=text).say(text)
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case_id)))
        new = [r for r in mine if r.joined_at is None and r.station_id != case.station_id]
        if not new:
            return Answer(toast=say(lang, "station_joined_already", ref=ref(case_id)))
        for row in new:
            row.joined_at, row.joined_by = services.now(), actor.user_id
            session.add(row)
            await services.audit.record(
                session, actor.user_id, "station_join", case_id, station=row.station_id
            )
            await services.publish(
                session, StationJoined(case_id, row.station_id, actor.name or str(actor.user_id))
            )
        await session.commit()
    return Answer(toast=say(lang, "station_joined_toast", ref=ref(case_id)))


async def hand_over(
    services: Services, actor: Actor, case_id: int, station: str | int | None
) -> Answer:
    """``/handover N STATION`` (or the button, by station id): the case moves with its whole
    history; the old owner follows it as a joined station and can no longer close it."""
    lang = actor.language
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None or not await services.officers.is_officer(session, actor):
            key = "officers_only" if case is not None else "no_such_case"
            return Answer(toast=say(lang, key, ref=ref(case_id))).say(
                say(lang, key, ref=ref(case_id))
            )
        if not await services.officers.may_run(session, actor, case):
            text = say(lang, "not_your_station", ref=ref(case_id))
            return Answer(toast=text).say(text)
        if case.status != CaseStatus.OPEN:
            text = say(lang, "case_closed_already", ref=ref(case_id))
            return Answer(toast=text).say(text)
        directory = await services.officers.directory(session)
        target = _target(directory.imported + (directory.default,), station)
        if target is None:
            names = ", ".join(p.name for p in directory.imported)
            return Answer().say(say(lang, "handover_usage", names=names or "—"))
        if target.id == case.station_id:
            return Answer().say(say(lang, "handover_same", ref=ref(case_id), station=target.name))
        await _move(services, session, actor, case, target, directory.get(case.station_id))
        await session.commit()
    text = say(lang, "handed_over", ref=ref(case_id), station=target.name)
    return Answer(toast=text).say(text)


async def hand_over_choices(services: Services, actor: Actor, case_id: int) -> Answer:
    """**Hand over** on the card: the owner's officers choose the station, one button each."""
    lang = actor.language
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None or not await services.officers.may_run(session, actor, case):
            text = say(lang, "not_your_station", ref=ref(case_id))
            return Answer(toast=text).say(text)
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case_id)))
        directory = await services.officers.directory(session)
    others = [p for p in directory.imported if p.id is not None and p.id != case.station_id]
    rows = tuple(
        (HandOver(case_id, p.id or 0).button(say(lang, "btn_hand_over", station=p.name)),)
        for p in others
    )
    return Answer().add(Out(say(lang, "handover_choose", ref=ref(case_id)), buttons=rows))


def _target(stations: tuple[Precinct, ...], wanted: str | int | None) -> Precinct | None:
    if isinstance(wanted, int):
        return next((p for p in stations if p.id == wanted), None)
    name = (wanted or "").strip().casefold()
    return next((p for p in stations if name and p.name.casefold() == name), None)


async def _move(
    services: Services,
    session: AsyncSession,
    actor: Actor,
    case: Case,
    target: Precinct,
    previous: Precinct,
) -> None:
    assert case.id is not None
    rows = {row.station_id: row for row in await reached(session, case.id)}
    if target.id is not None and target.id in rows:
        await session.delete(rows.pop(target.id))  # the owner now, not a neighbour
    if previous.id is not None:  # the old owner keeps following the case
        row = rows.get(previous.id) or CaseStation(
            case_id=case.id, station_id=previous.id, stage=case.stage, notified_at=services.now()
        )
        row.joined_at, row.joined_by = services.now(), actor.user_id
        session.add(row)
    case.station_id = target.id
    session.add(case)
    await services.audit.record(
        session, actor.user_id, "handover", case.id, from_station=previous.name,
        to_station=target.name,
    )  # fmt: skip
    by = actor.name or str(actor.user_id)
    await services.publish(session, CaseHandedOver(case.id, previous.id, target.id, by))
