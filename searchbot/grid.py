"""The grid: H3 hexagonal cells as an indexed prefilter, geodesic distance as the truth.

Each group stores its cell at two resolutions. A search around a point picks the resolution
that needs the fewest cells to cover the radius (a 300 m ring wants small cells, a 5 km ring
large ones), asks the database for groups in those cells, then keeps those whose exact
geodesic distance is within the radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
from geopy.distance import geodesic

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
