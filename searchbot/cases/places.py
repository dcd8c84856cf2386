"""Turning what a person typed into a point on the map, and keeping it inside the station's area.

Text is looked up first in the station's own landmarks (names and aliases people actually use:
"the east gate", "Starbucks by the fountain"), then, when one is configured, through a geopy
geocoder restricted to the service area.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.grid import bounding_box, distance_m
from searchbot.models import Landmark, LandmarkKind
from searchbot.models.db import Sessions
from searchbot.settings import Area
from searchbot.words.texts import plain

log = logging.getLogger(__name__)

NEAR_M = 300  # a landmark this close names a bare location better than its coordinates
AT_M = 25  # closer than this, the point is the landmark
PARTIAL_MIN = 3  # a typed place must say at least this much (see _weight) to match part of a name


@dataclass(frozen=True)
class Lookup:
    """What a typed place led to: a place, or too vague to pin (ask again), or nothing."""

    place: Place | None
    vague: bool = False


@dataclass(frozen=True)
class Place:
    """A resolved place: a label people understand and its coordinates."""

    label: str
    lat: float
    lon: float


def inside(area: Area | None, lat: float, lon: float) -> bool:
    """Whether the point is within the service area (no area configured: everywhere)."""
    return area is None or distance_m((area.lat, area.lon), (lat, lon)) <= area.radius_m


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


class PlaceResolver:
    """Resolves place text through landmarks, then an optional geocoder."""

    def __init__(
        self,
        sessions: Sessions,
        area: Area | None,
        geocoder: str | None = None,
        geocoder_domain: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._area = area
        self._geocoder_name = geocoder
        self._geocoder_domain = geocoder_domain

    async def resolve(self, text: str) -> Place | None:
        return (await self.lookup(text)).place

    async def lookup(self, text: str) -> Lookup:
        """The place ``text`` names; or ``vague`` when it names too much to pin ("a", "gate"
        among three gates): better to ask again than to pin a child on the wrong gate."""
        found, vague = await self._landmark(text)
        if found is not None or vague:
            return Lookup(found, vague)
        return Lookup(await self._geocode(text), False)

    async def label(
        self, lat: float, lon: float, lang: str, session: AsyncSession | None = None
    ) -> str:
        """What people would call a bare location: "120 m from the East Gate" when a landmark
        is near (a shopkeeper reads a place, not coordinates), else the coordinates. ``lang``
        is the station's: the label is stored once and read by everyone, like the landmark
        names themselves. Pass the
        caller's ``session`` when it holds one: a second connection per sighting could drain
        the pool in a burst of replies."""
        if session is None:
            async with self._sessions() as own:
                return await self.label(lat, lon, lang, own)
        south, north, west, east = bounding_box(lat, lon, NEAR_M)
        query = select(Landmark).where(
            col(Landmark.lat).between(south, north), col(Landmark.lon).between(west, east)
        )
        landmarks = (await session.exec(query)).all()
        near = sorted((distance_m((lm.lat, lm.lon), (lat, lon)), lm.name) for lm in landmarks)
        if not near or near[0][0] > NEAR_M:
            return f"{lat:.5f}, {lon:.5f}"
        metres, name = near[0]
        if metres < AT_M:
            return name
        return plain(lang, "near_landmark", landmark=name, metres=int(round(metres, -1)))

    async def _landmark(self, text: str) -> tuple[Place | None, bool]:
        """An exact name or alias; else the one landmark whose name contains ``text``.
        (None, True) when the text is too short to mean one place or fits several."""
        wanted = _normalise(text)
        if not wanted:
            return None, False
        async with self._sessions() as session:
            landmarks = (await session.exec(select(Landmark))).all()
        exact = [lm for lm in landmarks if wanted in _names(lm)]
        if exact:
            return Place(exact[0].name, exact[0].lat, exact[0].lon), False
        if _weight(wanted) < PARTIAL_MIN:
            return None, True
        partial = [lm for lm in landmarks if any(wanted in name for name in _names(lm))]
        if len(partial) > 1:
            return None, True
        return (Place(partial[0].name, partial[0].lat, partial[0].lon), False) if partial else (
            None, False,
        )  # fmt: skip

    async def _geocode(self, text: str) -> Place | None:
        if not self._geocoder_name:
            return None
        try:
            return await asyncio.to_thread(self._geocode_blocking, text)
        except Exception:  # a geocoder outage must not break the report dialogue
            log.exception("geocoder failed")  # not the text: a typed place is personal
            return None

    def _geocode_blocking(self, text: str) -> Place | None:
        from geopy.geocoders import get_geocoder_for_service

        options: dict[str, object] = {"user_agent": "searchbot", "timeout": 5}
        if self._geocoder_domain:  # "geo.example.org", or "http://host:port" for a local one
            scheme, _, domain = self._geocoder_domain.rpartition("://")
            options["domain"] = domain
            if scheme:
                options["scheme"] = scheme
        geocoder = get_geocoder_for_service(self._geocoder_name)(**options)
        location = geocoder.geocode(text)
        if location is None:
            return None
        return Place(str(location.address), location.latitude, location.longitude)


def _weight(text: str) -> int:
    """How much a text says: a Chinese character says about as much as two Latin letters."""
    return sum(1 if ch.isascii() else 2 for ch in text if not ch.isspace())


def _names(landmark: Landmark) -> list[str]:
    return [_normalise(n) for n in [landmark.name, *landmark.aliases.split("|")] if n.strip()]


KINDS = tuple(LandmarkKind)


async def import_landmarks(sessions: Sessions, path: Path) -> int:
    """Load ``name,aliases,lat,lon[,kind]`` rows (aliases ``|``-separated; kind one of
    ``KINDS`` or empty), replacing same-named ones."""
    rows = _read_landmarks(path)
    async with sessions() as session:
        names = [row.name for row in rows]
        await session.exec(delete(Landmark).where(Landmark.name.in_(names)))  # type: ignore[attr-defined,call-overload]
        session.add_all(rows)
        await session.commit()
    return len(rows)


def _read_landmarks(path: Path) -> list[Landmark]:
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, record in enumerate(csv.DictReader(handle), start=2):
            try:
                kind = (record.get("kind") or "").strip().lower() or None
                if kind is not None and kind not in KINDS:
                    raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
                rows.append(
                    Landmark(
                        name=record["name"].strip(),
                        aliases=(record.get("aliases") or "").strip(),
                        lat=float(record["lat"]),
                        lon=float(record["lon"]),
                        kind=None if kind is None else LandmarkKind(kind),
                    )
                )
            except (KeyError, ValueError, AttributeError) as error:
                raise ValueError(
                    f"{path}:{number}: expected name,aliases,lat,lon[,kind] ({error})"
                ) from None
    return rows
