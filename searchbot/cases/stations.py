"""The stations of a district as the use cases see them: which station holds a place, which
stations a ring reaches, who acts for each; and importing them from a GeoJSON file.

With no station imported there is one station, the default, made of the settings
(``SEARCHBOT_OFFICER_CHAT_ID``, ``SEARCHBOT_SERVICE_AREA``, the administrators): cases and groups
with no ``station_id`` are its. Imported stations add areas of their own; a place outside all of
them still belongs to the default station when ``SEARCHBOT_SERVICE_AREA`` holds it, and is
refused otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.places import inside
from searchbot.domain.areas import AreaIndex, StationSpec, parse_station_file
from searchbot.models import Station
from searchbot.models.db import Sessions
from searchbot.models.stations import all_stations, station_named
from searchbot.settings import Settings

DEFAULT_NAME = "default"


@dataclass(frozen=True)
class Precinct:
    """One station: ``id`` None is the default station the settings make."""

    id: int | None
    name: str
    officer_chat_id: int | None
    admin_ids: frozenset[int]
    language: str
    timezone: str


@dataclass(frozen=True)
class Directory:
    """The stations as they stand, with their areas indexed."""

    default: Precinct
    imported: tuple[Precinct, ...]
    index: AreaIndex | None
    settings: Settings

    def get(self, station_id: int | None) -> Precinct:
        """The station of a case's or group's ``station_id`` (a station removed since: the
        default one)."""
        return next((p for p in self.imported if p.id == station_id), self.default)

    def named(self, name: str) -> Precinct | None:
        wanted = name.strip().casefold()
        every = (*self.imported, self.default)
        return next((p for p in every if p.name.casefold() == wanted), None)

    def locate(self, lat: float, lon: float) -> Precinct | None:
        """The station whose area holds the place, or None: outside every area."""
        if self.index is not None:
            for key in self.index.holding(lat, lon):
                return self.get(key)
            area = self.settings.service_area
            return self.default if area is not None and inside(area, lat, lon) else None
        return self.default if inside(self.settings.service_area, lat, lon) else None

    def reached(self, lat: float, lon: float, radius_m: float) -> list[Precinct]:
        """The imported stations whose areas a ring of ``radius_m`` reaches into."""
        if self.index is None:
            return []
        return [self.get(key) for key in self.index.meeting(lat, lon, radius_m)]

    def by_officer_chat(self, chat_id: int) -> Precinct | None:
        """The station whose officers' group ``chat_id`` is."""
        every = (self.default, *self.imported)
        return next((p for p in every if p.officer_chat_id == chat_id), None)

    @property
    def officer_chat_ids(self) -> frozenset[int]:
        every = (self.default, *self.imported)
        return frozenset(p.officer_chat_id for p in every if p.officer_chat_id is not None)


class StationBook:
    """The stations, read again whenever the table changed (an import from the command line
    changes it under a running bot): one small query a look-up."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stamp: tuple[int, datetime | None] | None = None
        self.current = _directory(settings, [])

    async def load(self, session: AsyncSession) -> Directory:
        query = select(func.count(), func.max(Station.updated_at))  # type: ignore[arg-type]
        count, newest = (await session.exec(query)).one()
        stamp = (int(count), newest)
        if stamp != self._stamp:
            self.current = _directory(self._settings, await all_stations(session))
            self._stamp = stamp
        return self.current


def _directory(settings: Settings, rows: Sequence[Station]) -> Directory:
    default = Precinct(
        None, DEFAULT_NAME, settings.officer_chat_id, frozenset(), settings.language,
        settings.timezone,
    )  # fmt: skip
    imported = tuple(
        Precinct(
            row.id,
            row.name,
            row.officer_chat_id,
            frozenset(row.admin_ids),
            row.language or settings.language,
            row.timezone or settings.timezone,
        )  # fmt: skip
        for row in rows
    )
    index = AreaIndex([(row.id or 0, row.geometry) for row in rows]) if rows else None
    return Directory(default, imported, index, settings)


async def import_stations(sessions: Sessions, path: Path, now: datetime) -> int:
    """Load a GeoJSON file of stations, updating those already known by name. A bad file
    raises ``StationFileError`` (one line) before anything changes."""
    specs = parse_station_file(path.read_text(encoding="utf-8"))
    async with sessions() as session:
        for spec in specs:
            await _save(session, spec, now)
        await session.commit()
    return len(specs)


async def _save(session: AsyncSession, spec: StationSpec, now: datetime) -> None:
    row = await station_named(session, spec.name) or Station(
        name=spec.name, officer_chat_id=spec.officer_chat_id, geometry=spec.geometry,
        updated_at=now,
    )  # fmt: skip
    row.officer_chat_id = spec.officer_chat_id
    row.admin_ids = list(spec.admin_ids)
    row.language, row.timezone = spec.language, spec.timezone
    row.geometry, row.updated_at = spec.geometry, now
    session.add(row)
