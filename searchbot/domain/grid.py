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
from typing import NamedTuple, TypeVar

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
WGS84_A = 6_378_137.0
WGS84_E2 = 0.00669437999014
# The local plane below is within 1e-5 of the geodesic up to 50 km, at any latitude up to 60
# degrees (measured against geographiclib); items in this band around the edge get the geodesic.
PLANE_ERROR = 1e-4
BOX_MARGIN = 0.01


def plane_distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance on the ellipsoid's tangent plane at the mid-latitude (meridional and
    prime-vertical radii of curvature): ~100x faster than the geodesic at city scale."""
    phi = math.radians((a[0] + b[0]) / 2)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
    prime_vertical = WGS84_A / math.sqrt(w)
    north = meridional * math.radians(b[0] - a[0])
    east = prime_vertical * math.cos(phi) * math.radians(b[1] - a[1])
    return math.hypot(north, east)


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) of a box holding the disk, with a margin."""
    reach = radius_m * (1 + BOX_MARGIN) / EARTH_RADIUS_M
    dlat = math.degrees(reach)
    dlon = math.degrees(reach / max(math.cos(math.radians(lat)), 1e-6))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def within(
    centre: tuple[float, float],
    radius_m: float,
    items: Iterable[T],
    position: Callable[[T], tuple[float, float]],
) -> list[tuple[float, T]]:
    """The items within ``radius_m`` of ``centre``, nearest first, with their distances.

    The local plane decides every item clearly inside or outside; only those within its error
    of the edge get the exact geodesic, which has the last word. (The radii of curvature are
    taken at the centre: across a city they change by less than 1e-5.)"""
    lat0, lon0 = centre
    w = 1 - WGS84_E2 * math.sin(math.radians(lat0)) ** 2
    per_degree = math.pi / 180
    north_scale = WGS84_A * (1 - WGS84_E2) / w**1.5 * per_degree
    east_scale = WGS84_A / math.sqrt(w) * per_degree
    cos, hypot, edge = math.cos, math.hypot, radius_m * PLANE_ERROR + 1.0
    found = []
    for item in items:
        lat, lon = position(item)
        east = east_scale * cos((lat + lat0) * (per_degree / 2)) * (lon - lon0)
        distance = hypot(north_scale * (lat - lat0), east)
        if abs(distance - radius_m) <= edge:
            distance = distance_m(centre, (lat, lon))
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


def cells_within(lat: float, lon: float, radius_m: float, resolution: int) -> list[str]:
    """The cells of ``resolution`` whose centres lie within the radius (blind-spot reporting)."""
    centre = (lat, lon)
    return [
        cell
        for cell in _disk(lat, lon, radius_m, resolution)
        if plane_distance_m(centre, h3.cell_to_latlng(cell)) <= radius_m
    ]


class GroupPoint(NamedTuple):
    """What alerting needs of a group, without loading the whole row (a tuple: thousands are
    made per ring)."""

    id: int
    chat_id: int
    language: str
    lat: float
    lon: float
    role: str
