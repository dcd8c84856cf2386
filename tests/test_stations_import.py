"""Stations imported from a GeoJSON file: two neighbours from docs/, updated by name on a
second import; every kind of bad file changes nothing and is refused with one line naming the
feature and the field (exit 2). City administrators list them with /stations."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from fakegram import FakeBotApi
from searchbot import cli
from searchbot.models import db
from searchbot.models.stations import all_stations
from searchbot.words.texts import say
from tests.world import ADMIN_ID, World

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "stations.example.geojson"


def example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return document


def _stored(url: str) -> list[tuple[str, int, list[int], str]]:
    async def read() -> list[tuple[str, int, list[int], str]]:
        engine = db.create_engine(url)
        try:
            async with db.sessions(engine)() as session:
                rows = await all_stations(session)
                return [(r.name, r.officer_chat_id, r.admin_ids, r.geometry) for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _broken(change: str) -> dict[str, Any]:
    document = example()
    east = document["features"][1]
    ring = east["geometry"]["coordinates"][0][0]
    if change == "open ring":
        ring.pop()
    elif change == "self-crossing ring":  # a bow tie: the second and third corners swapped
        ring[1], ring[2] = ring[2], ring[1]
    elif change == "missing name":
        del east["properties"]["name"]
    elif change == "duplicate name":
        east["properties"]["name"] = document["features"][0]["properties"]["name"]
    elif change == "missing chat id":
        del east["properties"]["officer_chat_id"]
    elif change == "overlapping areas":  # the east station drawn over the west one
        east["geometry"] = document["features"][0]["geometry"]
    return document


BAD = {
    "open ring": "feature 2 (The Bund): field geometry",
    "self-crossing ring": "feature 2 (The Bund): field geometry",
    "missing name": "feature 2: field name",
    "duplicate name": "feature 2 (Nanjing Road): field name",
    "missing chat id": "feature 2 (The Bund): field officer_chat_id",
    "overlapping areas": "feature 2 (The Bund): field geometry: overlaps feature 1",
}


def test_two_stations_import_and_each_bad_file_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["stations", "import", str(EXAMPLE)]) == 0
    assert "imported 2 stations" in capsys.readouterr().out
    before = _stored(url)
    assert [name for name, *_ in before] == ["Nanjing Road", "The Bund"]

    path = tmp_path / "bad.geojson"
    cases: dict[str, str] = {"not GeoJSON": "not GeoJSON"} | BAD
    for change, named in cases.items():
        text = "{not json" if change == "not GeoJSON" else json.dumps(_broken(change))
        path.write_text(text, encoding="utf-8")
        assert cli.main(["stations", "import", str(path)]) == 2, change
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err, (change, err)
        assert _stored(url) == before, change  # nothing changed

    moved = example()  # a second import updates by name
    moved["features"][1]["properties"]["officer_chat_id"] = -100299
    moved["features"][1]["properties"]["admin_ids"] = [9202]
    path.write_text(json.dumps(moved), encoding="utf-8")
    assert cli.main(["stations", "import", str(path)]) == 0
    after = _stored(url)
    assert [(n, c, a) for n, c, a, _ in after] == [
        ("Nanjing Road", -100201, [9101]),
        ("The Bund", -100299, [9202]),
    ]


async def test_city_administrators_list_the_stations(world: World, fake: FakeBotApi) -> None:
    from searchbot.cases.stations import import_stations

    admin = fake.user(ADMIN_ID, first_name="Admin", language_code="en")
    before = await world.says(admin, "/stations")
    assert say("en", "stations_none") in before.body
    await import_stations(world.services.sessions, EXAMPLE, world.clock())
    listing = await world.says(admin, "/stations")
    assert "Nanjing Road" in listing.body and "The Bund" in listing.body
    assert "-100201" in listing.body
    stranger = fake.user(6001, first_name="Stranger", language_code="en")
    refused = await world.says(stranger, "/stations")
    assert say("en", "admins_only") in refused.body
    station_admin = fake.user(9101, first_name="Chief", language_code="en")
    refused = await world.says(station_admin, "/stations")
    assert say("en", "admins_only") in refused.body
