"""Station areas: a GeoJSON file of stations read and checked, and which area holds a place or
meets a ring. Geometry is shapely's (validity, containment, an STR-tree over the areas); GeoJSON
positions are (longitude, latitude) as RFC 7946 says."""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import cos, radians
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shapely import STRtree, prepare
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

LANGUAGES = ("zh", "en")
RING_SIDES = 48  # a ring's circle as a polygon of this many sides, for "does it reach the area"
_UNIT_CIRCLE = Point(0.0, 0.0).buffer(1.0, quad_segs=RING_SIDES // 4)


class StationFileError(ValueError):
    """A station file that cannot be imported: one line naming the feature and the field."""


@dataclass(frozen=True)
class StationSpec:
    """One station as the file describes it."""

    name: str
    officer_chat_id: int
    admin_ids: tuple[int, ...]
    language: str | None
    timezone: str | None
    geometry: str  # the feature's geometry, as GeoJSON text


def parse_station_file(text: str) -> list[StationSpec]:
    """The stations of a GeoJSON FeatureCollection, or StationFileError for the first fault."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StationFileError(f"not GeoJSON: {exc}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise StationFileError("not GeoJSON: the file must be one FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise StationFileError("not GeoJSON: field features: a list of at least one Feature")
    specs: list[StationSpec] = []
    for number, feature in enumerate(features, start=1):
        spec = _feature(number, feature)
        if any(s.name == spec.name for s in specs):
            raise StationFileError(f"feature {number} ({spec.name}): field name: a duplicate")
        specs.append(spec)
    _no_overlap(specs)
    return specs


def _no_overlap(specs: list[StationSpec]) -> None:
    """Areas may share a border, never ground: a place in two stations' areas would belong to
    whichever was imported first, and the other's officers would never hear of it."""
    areas = [shape(json.loads(spec.geometry)) for spec in specs]
    for later, area in enumerate(areas):
        for earlier in range(later):
            if area.relate_pattern(areas[earlier], "2********"):  # interiors meet in an area
                raise StationFileError(
                    f"feature {later + 1} ({specs[later].name}): field geometry: overlaps "
                    f"feature {earlier + 1} ({specs[earlier].name})"
                )


def _feature(number: int, feature: Any) -> StationSpec:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise StationFileError(f"feature {number}: field type: must be Feature")
    props = feature.get("properties")
    props = props if isinstance(props, dict) else {}
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise StationFileError(f"feature {number}: field name: missing")
    label = f"feature {number} ({name.strip()})"

    def fault(field: str, why: str) -> StationFileError:
        return StationFileError(f"{label}: field {field}: {why}")

    chat = props.get("officer_chat_id")
    if isinstance(chat, bool) or not isinstance(chat, int) or chat == 0:
        raise fault("officer_chat_id", "missing (the officers' group's chat id, a number)")
    admins = props.get("admin_ids", [])
    if not isinstance(admins, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in admins
    ):
        raise fault("admin_ids", "must be a list of Telegram user ids")
    language = props.get("language")
    if language is not None and language not in LANGUAGES:
        raise fault("language", f"one of {', '.join(LANGUAGES)}")
    timezone = props.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise fault("timezone", "not a time zone (e.g. Asia/Shanghai)") from None
    geometry = feature.get("geometry")
    why = _geometry_fault(geometry)
    if why:
        raise fault("geometry", why)
    return StationSpec(name.strip(), chat, tuple(admins), language, timezone, json.dumps(geometry))


def _geometry_fault(geometry: Any) -> str | None:
    """Why ``geometry`` is no station area (None: it is one)."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return "must be a Polygon or MultiPolygon"
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return "no coordinates"
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return "a polygon without rings"
        for ring in polygon:
            why = _ring_fault(ring)
            if why:
                return why
    try:
        area = shape(geometry)
    except (ValueError, TypeError, AttributeError) as exc:
        return f"unreadable coordinates ({exc})"
    if not area.is_valid:
        return f"not a valid area: {explain_validity(area)}"
    return None


def _ring_fault(ring: Any) -> str | None:
    if not isinstance(ring, list) or not all(_position(p) for p in ring):
        return "a ring's positions must be [longitude, latitude] pairs"
    if len(ring) < 4:
        return "a ring needs at least four positions"
    if ring[0][:2] != ring[-1][:2]:
        return "an open ring (its last position must repeat its first)"
    return None


def _position(value: Any) -> bool:
    if not isinstance(value, list) or len(value) < 2:
        return False
    lon, lat = value[0], value[1]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat))
    return numbers and -180 <= lon <= 180 and -90 <= lat <= 90


def area_of(geometry: str) -> BaseGeometry:
    """A stored area (GeoJSON text), prepared for many containment tests."""
    area = shape(json.loads(geometry))
    prepare(area)
    return area


def ring_polygon(lat: float, lon: float, radius_m: float) -> Polygon:
    """A ring's circle as a polygon in (lon, lat): near enough for "does it reach an area"
    (an ellipse in degrees, exact to well under a percent at a few kilometres)."""
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(cos(radians(lat)), 1e-6))
    return Polygon([(lon + dlon * x, lat + dlat * y) for x, y in _UNIT_CIRCLE.exterior.coords])


class AreaIndex:
    """Which of several areas hold a place or meet a ring (an STR-tree over them)."""

    def __init__(self, areas: list[tuple[int, str]]) -> None:
        self._keys = [key for key, _ in areas]
        self._areas = [area_of(geometry) for _, geometry in areas]
        self._tree = STRtree(self._areas)

    def holding(self, lat: float, lon: float) -> list[int]:
        """The keys of the areas holding the place, in the order given."""
        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        return [self._keys[i] for i in sorted(int(h) for h in hits)]

    def meeting(self, lat: float, lon: float, radius_m: float) -> list[int]:
        """The keys of the areas a ring of ``radius_m`` around the place reaches into."""
        hits = self._tree.query(ring_polygon(lat, lon, radius_m), predicate="intersects")
        return [self._keys[i] for i in sorted(int(h) for h in hits)]

    def __len__(self) -> int:
        return len(self._keys)
