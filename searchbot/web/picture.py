"""The ``/map`` picture: the command room's map as a PNG, for officers who stay in the chat.

Drawn from the same layers as the web page, with matplotlib (Agg canvas, no pyplot: safe in a
running bot) on a plain background: no tiles, so no network and no tile licence to honour.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping
from typing import Any

from searchbot.operations.statistics import _fonts
from searchbot.web.layers import CaseLayers

WIDTH_PX, HEIGHT_PX, DPI = 900, 900, 100
METRES_PER_DEGREE = 111_320.0
STATE_COLOURS = {
    "alerted": "#ff9800",
    "checked": "#4caf50",
    "waiting": "#9e9e9e",
    "gone": "#424242",
}
SIGHTING_COLOURS = {True: "#d32f2f", False: "#9e9e9e", None: "#7b1fa2"}


def _circle(lat: float, lon: float, radius_m: float) -> tuple[list[float], list[float]]:
    """A ring as lon/lat points (small-area approximation: rings are a few km at most)."""
    lats, lons = [], []
    for step in range(0, 361, 4):
        angle = math.radians(step)
        lats.append(lat + radius_m * math.cos(angle) / METRES_PER_DEGREE)
        lons.append(
            lon + radius_m * math.sin(angle) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
        )
    return lons, lats


def map_png(layers: CaseLayers, labels: Mapping[str, str], language: str = "en") -> bytes:
    """A 900×900 PNG of the case's map: rings, groups by state, blind spots, sightings."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    with _fonts(language), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph .* missing from.*")
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.subplots()
        axes.set_facecolor("#f4f1ea")
        for spot in layers.blind_spots:
            lats = [p[0] for p in spot["boundary"]]
            lons = [p[1] for p in spot["boundary"]]
            axes.fill(lons, lats, color="#e53935", alpha=0.18, linewidth=0)
        for ring in layers.rings:
            lons, lats = _circle(ring.lat, ring.lon, ring.radius_m)
            axes.plot(lons, lats, color="#1e88e5", linewidth=1.5)
            axes.annotate(
                f"{ring.number}: {ring.radius_m} m", (lons[0], lats[0]),
                color="#1e88e5", fontsize=9, ha="center", va="bottom",
            )  # fmt: skip
        for state, colour in STATE_COLOURS.items():
            points = [g for g in layers.groups if g.state == state]
            if points:
                axes.scatter(
                    [g.lon for g in points], [g.lat for g in points], s=36, color=colour,
                    edgecolors="white", linewidths=0.8, zorder=3,
                )  # fmt: skip
        for sighting in layers.sightings:
            if sighting.lat is None or sighting.lon is None:
                continue
            colour = SIGHTING_COLOURS[sighting.credible]
            axes.scatter([sighting.lon], [sighting.lat], s=220, color=colour, zorder=4)
            axes.annotate(
                str(sighting.number), (sighting.lon, sighting.lat), color="white",
                fontsize=9, ha="center", va="center", zorder=5, weight="bold",
            )  # fmt: skip
        axes.scatter([layers.last_seen[1]], [layers.last_seen[0]], marker="*", s=320,
                     color="#000000", zorder=6)  # fmt: skip
        if layers.centre != layers.last_seen:
            axes.scatter([layers.centre[1]], [layers.centre[0]], marker="X", s=160,
                         color="#1e88e5", zorder=6)  # fmt: skip
        _frame(axes, layers)
        handles = [
            Line2D([], [], marker="o", linestyle="", color=c, label=labels.get(f"state_{s}", s))
            for s, c in STATE_COLOURS.items()
        ]
        handles.append(
            Line2D([], [], marker="*", linestyle="", color="#000",
                   label=labels.get("last_seen", "last seen"), markersize=12)
        )  # fmt: skip
        axes.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.85)
        axes.set_title(labels.get("title", layers.ref))
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _frame(axes: Any, layers: CaseLayers) -> None:
    """Square extent around the widest ring (or 500 m), true to scale, with a scale bar."""
    lat, lon = layers.centre
    reach = max([r.radius_m for r in layers.rings] + [500]) * 1.1
    dlat = reach / METRES_PER_DEGREE
    dlon = reach / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    axes.set_xlim(lon - dlon, lon + dlon)
    axes.set_ylim(lat - dlat, lat + dlat)
    axes.set_aspect(1 / math.cos(math.radians(lat)))
    axes.set_xticks([])
    axes.set_yticks([])
    bar_m = _nice(reach / 2.5)
    x0, y0 = lon + dlon * 0.45, lat - dlat * 0.92
    x1 = x0 + bar_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    axes.plot([x0, x1], [y0, y0], color="#000", linewidth=3)
    label = f"{bar_m} m" if bar_m < 1000 else f"{bar_m / 1000:g} km"
    axes.annotate(label, ((x0 + x1) / 2, y0), ha="center", va="bottom", fontsize=9)


def _nice(metres: float) -> int:
    """The largest of 1, 2, 5 × 10^n not above ``metres``."""
    power = 10 ** int(math.floor(math.log10(max(metres, 1))))
    return max(n * power for n in (1, 2, 5) if n * power <= max(metres, 1))
