"""The grid: H3 hexagonal cells as an indexed prefilter, geodesic distance as the truth.

Each group stores its cell at two resolutions. A search around a point picks the resolution
that needs the fewest cells to cover the radius (a 300 m ring wants small cells, a 5 km ring
large ones), asks the database for groups in those cells, then keeps those whose exact
geodesic distance is within the radius.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import h3
from geopy.distance import geodesic

T = TypeVar("T")

FINE = 9  # ~0.1 km² cells, about 174 m edge
COARSE = 7  # ~5 km² cells, about 1.2 km edge


@dataclass(frozen=True)
class Cover:
    """The cells that together contain every point within a radius of a centre."""

    resolution: int
    cells: list[str]

    @property
    def column(self) -> str:
        return "cell_fine" if self.resolution == FINE else "cell_coarse"


def cells_of(lat: float, lon: float) -> tuple[str, str]:
    """The (fine, coarse) cells of a point."""
    return h3.latlng_to_cell(lat, lon, FINE), h3.latlng_to_cell(lat, lon, COARSE)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres (WGS-84)."""
    return float(geodesic(a, b).meters)


EARTH_RADIUS_M = 6_371_008.8
SPHERE_ERROR = 0.006  # a sphere is off the ellipsoid by at most ~0.5 %


def sphere_distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance: ~100x faster than the geodesic, within 0.5 %."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def within(
    centre: tuple[float, float],
    radius_m: float,
    items: Iterable[T],
    position: Callable[[T], tuple[float, float]],
) -> list[tuple[float, T]]:
    """The items within ``radius_m`` of ``centre``, nearest first, with their distances.

    The sphere decides every item clearly inside or outside; only those within its error of
    the edge get the exact geodesic, which has the last word."""
    found = []
    for item in items:
        point = position(item)
        distance = sphere_distance_m(centre, point)
        if abs(distance - radius_m) <= radius_m * SPHERE_ERROR:
            distance = distance_m(centre, point)
        if distance <= radius_m:
            found.append((distance, item))
    found.sort(key=lambda pair: pair[0])
    return found


def cover(lat: float, lon: float, radius_m: float) -> Cover:
    """Cells covering the disk of ``radius_m`` around the point, at the cheaper resolution."""
    fine = _disk(lat, lon, radius_m, FINE)
    if len(fine) <= 64:
        return Cover(FINE, fine)
    return Cover(COARSE, _disk(lat, lon, radius_m, COARSE))


def _disk(lat: float, lon: float, radius_m: float, resolution: int) -> list[str]:
    # Neighbouring centres are at least sqrt(3) * (smallest edge) apart; one extra ring covers
    # the part of the centre cell that lies off its centre.
    edge = h3.average_hexagon_edge_length(resolution, unit="m") * 0.85
    k = math.ceil(radius_m / (math.sqrt(3) * edge)) + 1
    return list(h3.grid_disk(h3.latlng_to_cell(lat, lon, resolution), k))


def cell_neighbourhood(lat: float, lon: float, radius_m: float) -> list[str]:
    """The fine cells whose centres lie within the radius (for blind-spot reporting)."""
    cells = _disk(lat, lon, radius_m, FINE)
    return [c for c in cells if distance_m((lat, lon), h3.cell_to_latlng(c)) <= radius_m]
