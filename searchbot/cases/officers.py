"""Who is an officer, of which station, and where officers' views may be shown.

City administrators (``SEARCHBOT_ADMIN_IDS``) act for every station. The default station's
officers are the appointed ones of the ``officers`` table; an imported station's are its
administrators (from the station file) and those they appointed (``station_officers``). Anyone
acting inside a station's officers' group acts for that station."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.stations import Directory, Precinct, StationBook
from searchbot.domain.actors import Actor
from searchbot.models import Case, Officer
from searchbot.models.db import Sessions
from searchbot.models.stations import reached, stations_of_officer
from searchbot.settings import Settings

EVERY_STATION = None  # what ``stations_for`` answers for a city administrator


@dataclass(frozen=True)
class OfficerRules:
    """Administrators come from the settings; officers are appointed (a row each); anyone
    acting inside an officers' group acts as an officer of its station."""

    settings: Settings
    book: StationBook = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "book", StationBook(self.settings))

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    def may_show_cases(self, actor: Actor) -> bool:
        """Whether officers' views of cases (cards, lists, sightings) may be shown where
        ``actor`` is: a private chat or an officers' group. In a merchant group a case card
        would put a child's and a family's data in front of strangers."""
        return actor.in_private or actor.chat_id in self.book.current.officer_chat_ids

    async def directory(self, session: AsyncSession) -> Directory:
        return await self.book.load(session)

    async def refresh(self, sessions: Sessions) -> Directory:
        """The stations as they are now (an import under a running bot changes them), for
        the checks that need no other query (``may_show_cases``)."""
        async with sessions() as session:
            return await self.book.load(session)

    async def is_officer(self, session: AsyncSession, actor: Actor) -> bool:
        """Admins, appointed officers of any station, and anyone inside an officers' group."""
        if self.is_admin(actor.user_id):
            return True
        directory = await self.book.load(session)
        if not actor.in_private and directory.by_officer_chat(actor.chat_id) is not None:
            return True
        return bool(await self.stations_of_person(session, actor.user_id, directory))

    async def stations_for(self, session: AsyncSession, actor: Actor) -> set[int | None] | None:
        """The stations ``actor`` acts for where they are (None: every one, a city admin);
        the default station is ``None`` inside the set."""
        if self.is_admin(actor.user_id):
            return EVERY_STATION
        directory = await self.book.load(session)
        if not actor.in_private:
            station = directory.by_officer_chat(actor.chat_id)
            return {station.id} if station is not None else set()
        return await self.stations_of_person(session, actor.user_id, directory)

    async def stations_of_person(
        self, session: AsyncSession, user_id: int, directory: Directory | None = None
    ) -> set[int | None]:
        """The stations whose officer ``user_id`` is (not counting city administrators)."""
        directory = directory or await self.book.load(session)
        stations: set[int | None] = set(await stations_of_officer(session, user_id))
        stations |= {p.id for p in directory.imported if user_id in p.admin_ids}
        officer = await session.get(Officer, user_id)
        if officer is not None and officer.active:
            stations.add(None)
        return stations

    async def stations_of_chat(self, session: AsyncSession, chat_id: int) -> set[int | None] | None:
        """The stations whose officers' news ``chat_id`` hears (None: every one)."""
        if self.is_admin(chat_id):
            return EVERY_STATION
        directory = await self.book.load(session)
        if chat_id < 0:
            station = directory.by_officer_chat(chat_id)
            return {station.id} if station is not None else set()
        return await self.stations_of_person(session, chat_id, directory)

    async def still_officer(self, session: AsyncSession, user_id: int) -> bool:
        """Whether officers' news may still go to ``user_id``'s private chat."""
        return self.is_admin(user_id) or bool(await self.stations_of_person(session, user_id))

    async def may_run(self, session: AsyncSession, actor: Actor, case: Case) -> bool:
        """Whether ``actor`` acts for the station owning ``case``: verify, widen, close and
        hand over are the owner's alone."""
        stations = await self.stations_for(session, actor)
        return stations is EVERY_STATION or case.station_id in stations

    async def may_follow(self, session: AsyncSession, actor: Actor, case: Case) -> bool:
        """Whether ``actor`` sees ``case`` as an officer: its owner's, or a station that
        joined it (sightings, marking them credible, the case in its lists)."""
        stations = await self.stations_for(session, actor)
        if stations is EVERY_STATION or case.station_id in stations:
            return True
        joined = {r.station_id for r in await reached(session, case.id or 0) if r.joined_at}
        return bool(joined & {s for s in stations if s is not None})

    async def owner(self, session: AsyncSession, case: Case) -> Precinct:
        return (await self.book.load(session)).get(case.station_id)
