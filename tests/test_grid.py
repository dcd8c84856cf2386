"""The H3 prefilter never misses a point inside the radius."""

from __future__ import annotations

import random

import pytest

from searchbot.domain.grid import FINE, cells_of, cover, distance_m
from tests.world import CENTRE, offset


@pytest.mark.parametrize("radius", [100, 300, 1000, 2500, 5000])
def test_cover_contains_every_point_within_the_radius(radius: int) -> None:
    area = cover(*CENTRE, radius)
    cells = set(area.cells)
    rng = random.Random(radius)
    for _ in range(2000):
        bearing_north = rng.uniform(-radius, radius)
        bearing_east = rng.uniform(-radius, radius)
        point = offset(CENTRE, bearing_north, bearing_east)
        if distance_m(CENTRE, point) > radius:
            continue
        fine, coarse = cells_of(*point)
        assert (fine if area.resolution == FINE else coarse) in cells


def test_cover_stays_small_for_large_rings() -> None:
    assert len(cover(*CENTRE, 5000).cells) < 100
    assert len(cover(*CENTRE, 300).cells) < 100


def test_distance_is_geodesic() -> None:
    assert abs(distance_m(CENTRE, offset(CENTRE, 1000)) - 1000) < 0.5
