"""The command room's blind-spot layer, made once per search state and off the event loop.

A wide ring holds some 1,500 H3 cells, each drawn with its six corners: computing them and
encoding them as JSON held the bot's event loop (the one that sends the alerts) for a third
of a second per fetch, and every screen watching a case fetched it again at every change.
The layer depends on the centre, the radius and which of the ring's cells hold a registered
group; that last set is read from the database at every call (one indexed query), so the
layer kept for those three inputs is never stale. It is computed on a worker thread, kept with
its JSON text for the few searches in progress, and spliced into the answer as it is.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

import h3
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import coverage

DRAWN = coverage.MAX_CELLS  # nearest first; coverage keeps a ring within this
KEPT = 8  # layers kept: a station runs a few searches at a time
DECIMALS = 6  # a tenth of a metre: the corners' JSON a third shorter than full floats

Key = tuple[tuple[float, float], float, int, frozenset[str]]


class Drawn(list[dict[str, Any]]):
    """The layer's cells (``cell``, ``distance_m``, ``boundary``) and the same as JSON text."""

    def __init__(self, cells: list[dict[str, Any]]) -> None:
        super().__init__(cells)
        self.json = json.dumps(cells)


_kept: OrderedDict[Key, Drawn] = OrderedDict()


async def layer(session: AsyncSession, centre: tuple[float, float], radius_m: float) -> Drawn:
    """The blind spots of the ring of ``radius_m`` around ``centre``, nearest first."""
    resolution, covered = await coverage.covered_cells(session, centre, radius_m)
    key: Key = (centre, radius_m, resolution, covered)
    found = _kept.get(key)
    if found is None:
        found = await asyncio.to_thread(_draw, centre, radius_m, resolution, covered)
        _kept[key] = found
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    else:
        _kept.move_to_end(key)
    return found


def _draw(
    centre: tuple[float, float], radius_m: float, resolution: int, covered: frozenset[str]
) -> Drawn:
    spots = coverage.blind_of(centre, radius_m, resolution, covered)[:DRAWN]
    return Drawn(
        [
            {
                "cell": spot.cell,
                "distance_m": int(spot.distance_m),
                "boundary": [
                    [round(lat, DECIMALS), round(lon, DECIMALS)]
                    for lat, lon in h3.cell_to_boundary(spot.cell)
                ],
            }
            for spot in spots
        ]
    )


def dumps(data: dict[str, Any]) -> str:
    """``data`` as JSON; a ``Drawn`` layer in it goes in as its text, not encoded again."""
    drawn = {key: value for key, value in data.items() if isinstance(value, Drawn)}
    text = json.dumps({key: value for key, value in data.items() if key not in drawn})
    for key, value in drawn.items():
        text = (
            text[:-1] + (", " if text != "{}" else "") + json.dumps(key) + ": " + value.json + "}"
        )
    return text
