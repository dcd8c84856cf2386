"""Where the search has looked and where nobody can: ring by ring, groups alerted and groups
that checked; and the grid cells inside the current radius with no registered group at all —
the blind spots a station must fill."""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.grid import bounding_box, cells_within, plane_distance_m
from searchbot.models import Alert, Case, Group, GroupStatus
from searchbot.settings import Settings
from searchbot.words.cards import distance_text
from searchbot.words.texts import Raw, say

SHOWN_BLIND_SPOTS = 3
COVERING_STATUSES = (GroupStatus.APPROVED, GroupStatus.PENDING)
# ~0.015 km² cells, centres ~115 m apart: a block of a shopping street; wider rings are
# judged in coarser cells so that a card never weighs more than ~1,500 of them.
BLIND_SPOT_RESOLUTION = 10
MAX_CELLS = 1500


def blind_spot_resolution(radius_m: float) -> int:
    """The finest resolution that covers the ring in at most ``MAX_CELLS`` cells."""
    area_m2 = math.pi * radius_m**2
    resolution = BLIND_SPOT_RESOLUTION
    while resolution > 0 and area_m2 / h3.average_hexagon_area(resolution, unit="m^2") > MAX_CELLS:
        resolution -= 1
    return resolution


@dataclass(frozen=True)
class Ring:
    number: int  # 1-based, as officers count
    radius_m: int
    alerted: int
    checked: int


@dataclass(frozen=True)
class BlindSpot:
    cell: str
    lat: float
    lon: float
    distance_m: float


@dataclass(frozen=True)
class Coverage:
    rings: list[Ring]
    radius_m: int
    cells: int
    blind: list[BlindSpot]  # nearest first


async def of_case(settings: Settings, session: AsyncSession, case: Case) -> Coverage:
    stages = settings.escalation
    counts = await _counts_by_stage(session, case.id or 0)
    rings = [Ring(i + 1, stages[i].radius_m, *counts.get(i, (0, 0))) for i in range(case.stage + 1)]
    radius = stages[max(case.stage, 0)].radius_m
    centre = (case.center_lat, case.center_lon)
    resolution = blind_spot_resolution(radius)
    cells = cells_within(*centre, radius, resolution)
    covered = await _covered(session, bounding_box(*centre, radius), resolution)
    blind = [_spot(centre, cell) for cell in cells if cell not in covered]
    blind.sort(key=lambda spot: spot.distance_m)
    return Coverage(rings, radius, len(cells), blind)


async def _counts_by_stage(session: AsyncSession, case_id: int) -> dict[int, tuple[int, int]]:
    query = (
        select(Alert.stage, func.count(), func.count(col(Alert.checked_at)))
        .where(Alert.case_id == case_id)
        .group_by(col(Alert.stage))
    )
    return {stage: (alerted, checked) for stage, alerted, checked in await session.exec(query)}


async def _covered(
    session: AsyncSession, box: tuple[float, float, float, float], resolution: int
) -> set[str]:
    """The cells that hold a registered (approved or pending) group."""
    south, north, west, east = box
    query = select(Group.lat, Group.lon).where(
        col(Group.status).in_(COVERING_STATUSES),
        col(Group.lat).between(south, north),
        col(Group.lon).between(west, east),
    )
    return {
        h3.latlng_to_cell(lat, lon, resolution)
        for lat, lon in await session.exec(query)
        if lat is not None and lon is not None
    }


def _spot(centre: tuple[float, float], cell: str) -> BlindSpot:
    # the local plane (within 1e-5 of the geodesic at city scale): a card weighs up to 1,500
    # cells, and the geodesic of each held the event loop for a third of a second
    lat, lon = h3.cell_to_latlng(cell)
    return BlindSpot(cell, lat, lon, plane_distance_m(centre, (lat, lon)))


def render(coverage: Coverage, lang: str) -> str:
    """The coverage block of an officer's case card."""
    lines = [
        say(
            lang,
            "coverage_ring",
            stage=ring.number,
            radius=Raw(distance_text(ring.radius_m, lang)),
            alerted=ring.alerted,
            checked=ring.checked,
        )
        for ring in coverage.rings
    ]
    radius = Raw(distance_text(coverage.radius_m, lang))
    if not coverage.blind:
        lines.append(say(lang, "coverage_none_blind", radius=radius))
        return "\n".join(lines)
    lines.append(
        say(lang, "coverage_blind", blind=len(coverage.blind), cells=coverage.cells, radius=radius)
    )
    spots = ", ".join(
        f"{s.lat:.5f},{s.lon:.5f} ({distance_text(s.distance_m, lang)})"
        for s in coverage.blind[:SHOWN_BLIND_SPOTS]
    )
    lines.append(say(lang, "coverage_blind_near", spots=spots))
    return "\n".join(lines)


async def blind_spots(
    session: AsyncSession, centre: tuple[float, float], radius_m: float
) -> list[BlindSpot]:
    """The cells within ``radius_m`` of ``centre`` with no registered group, nearest first:
    the blocks volunteers are sent to walk."""
    resolution, covered = await covered_cells(session, centre, radius_m)
    return blind_of(centre, radius_m, resolution, covered)


async def covered_cells(
    session: AsyncSession, centre: tuple[float, float], radius_m: float
) -> tuple[int, frozenset[str]]:
    """The resolution a ring of ``radius_m`` is judged in, and its cells that hold a registered
    group: all that the ring's blind spots take from the database."""
    resolution = blind_spot_resolution(radius_m)
    covered = await _covered(session, bounding_box(*centre, radius_m), resolution)
    return resolution, frozenset(covered)


def blind_of(
    centre: tuple[float, float], radius_m: float, resolution: int, covered: frozenset[str]
) -> list[BlindSpot]:
    """The ring's cells outside ``covered``, nearest first. Arithmetic only, and up to
    ~1,500 cells for a wide ring: the command room runs it on a worker thread."""
    cells = cells_within(*centre, radius_m, resolution)
    spots = [_spot(centre, cell) for cell in cells if cell not in covered]
    return sorted(spots, key=lambda spot: spot.distance_m)
