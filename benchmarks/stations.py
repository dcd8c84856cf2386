"""A district benchmark: 18 stations, 20,000 groups, 10 cases confirmed within 10 seconds across
5 stations, on the fake Bot API as strict as Telegram.

Usage::

    .venv/bin/python benchmarks/stations.py [--groups 20000] [--cases 10] [--latency 0.03]

The real bot (SQLite, the production per-chat pace) with 18 square stations of 1.5 km side in a
6 x 3 grid imported from GeoJSON, 20,000 approved groups spread evenly over the district (each
in the station holding its place), and the schedule ``0:300,1h:1000``. Ten families draft their
reports in five stations (two each), then press Confirm one second apart; Telegram's limits hold
from the first click. Measured, one JSON line each on stdout (diagnostics on stderr):

- ``case``: per case, its station, when it was confirmed, its first alert after its own Confirm,
  its ring's groups and its last alert;
- ``district``: the spread between the earliest and the latest first alert (each from its own
  Confirm), every alert's end against the minimum (alerts / 30 a second from the first click),
  the 429s by kind, Bot API violations, and the resident memory of the process (bot, fake Bot
  API and benchmark together) after the run, with its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fakegram import ApiCall, FakeBotApi, FakeMessage, FakeUser, Limits
from searchbot.cases.stations import import_stations
from searchbot.delivery.dispatcher import pending_count
from searchbot.domain.grid import cells_of
from searchbot.models import Group
from searchbot.rehearsal import CENTRE, World, offset, world_settings

COLUMNS, ROWS, SIDE_M = 6, 3, 1500.0  # 18 stations of 1.5 km x 1.5 km
ESCALATION = "0:300,1h:1000"
CASE_STATIONS = (1, 4, 7, 10, 16)  # five stations (0-based, row by row), two cases each
CONFIRM_EVERY_S = 1.0
FIRST_CHAT_ID = -100_000
GLOBAL_PER_SECOND = 30
SEED = 20261207
CAPTION_CASE = re.compile(r"#(\d+)")


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def note(text: str) -> None:
    print(f"[stations] {text}", file=sys.stderr, flush=True)


def corner(column: int, row: int) -> tuple[float, float]:
    """The south-west corner of a station's square (the grid is centred on CENTRE). Its
    latitude depends on the row alone and its longitude on the column alone, so neighbours
    share their borders exactly (a longitude measured at each corner's own latitude made
    trapezoids that overlapped, and the import refuses overlapping areas)."""
    north = offset(CENTRE, (row - ROWS / 2) * SIDE_M, 0.0)[0]
    east = offset(CENTRE, 0.0, (column - COLUMNS / 2) * SIDE_M)[1]
    return north, east


def district_file(folder: Path) -> Path:
    features = []
    for row in range(ROWS):
        for column in range(COLUMNS):
            (south, west), (north, east) = corner(column, row), corner(column + 1, row + 1)
            ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
            number = row * COLUMNS + column
            features.append({
                "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"name": f"Station {number + 1}",
                               "officer_chat_id": -900_000 - number, "language": "en"},
            })  # fmt: skip
    path = folder / "district.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def station_centre(number: int) -> tuple[float, float]:
    row, column = divmod(number, COLUMNS)
    (south, west), (north, east) = corner(column, row), corner(column + 1, row + 1)
    return ((south + north) / 2, (west + east) / 2)


async def seed(world: World, fake: FakeBotApi, count: int) -> None:
    """``count`` approved groups spread evenly over the district, in their stations."""
    rng = random.Random(SEED)
    width, height = COLUMNS * SIDE_M, ROWS * SIDE_M
    now = datetime.now(UTC)
    async with world.services.sessions() as session:
        directory = await world.services.officers.directory(session)
        rows = []
        for index in range(count):
            lat, lon = offset(
                CENTRE, rng.uniform(-height / 2, height / 2), rng.uniform(-width / 2, width / 2)
            )
            station = directory.locate(lat, lon)
            fine, coarse = cells_of(lat, lon)
            chat_id = FIRST_CHAT_ID - index
            rows.append(
                Group(
                    chat_id=chat_id, title=f"Shop {-chat_id}", role="merchant",
                    status="approved", lat=lat, lon=lon, cell_fine=fine, cell_coarse=coarse,
                    language="en", registered_by=0, created_at=now,
                    station_id=station.id if station else None,
                )
            )  # fmt: skip
            fake.group(chat_id=chat_id, title=f"Shop {-chat_id}")
        session.add_all(rows)
        await session.commit()


def alerts_by_case(calls: Sequence[ApiCall]) -> dict[int, list[float]]:
    """Each case's successful alert sends (sendPhoto to a group), by the time they arrived."""
    found: dict[int, list[float]] = {}
    for call in calls:
        chat = int(call.params.get("chat_id", 0))
        if call.method != "sendPhoto" or not call.ok or chat > FIRST_CHAT_ID:
            continue
        match = CAPTION_CASE.search(str(call.params.get("caption", "")))
        if match:
            found.setdefault(int(match.group(1)), []).append(call.at)
    return found


def resident_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak, in MB."""
    now = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return now, peak


async def run(groups: int, cases: int, latency: float, folder: Path) -> None:
    async with FakeBotApi() as fake:
        settings = world_settings(
            fake, f"sqlite+aiosqlite:///{folder / 'district.db'}", SEARCHBOT_ESCALATION=ESCALATION,
            SEARCHBOT_CHAT_PER_SECOND=1, SEARCHBOT_TICK_SECONDS=5,
        )  # fmt: skip
        async with World(fake, settings) as world:
            await import_stations(world.services.sessions, district_file(folder), world.clock())
            started = time.monotonic()
            await seed(world, fake, groups)
            note(f"{groups} groups seeded in {time.monotonic() - started:.1f} s")
            await play(world, fake, cases, latency)


async def play(world: World, fake: FakeBotApi, cases: int, latency: float) -> None:
    summaries = []
    for index in range(cases):
        station = CASE_STATIONS[index % len(CASE_STATIONS)]
        lat, lon = station_centre(station)
        point = offset((lat, lon), 150 * (index // len(CASE_STATIONS)), 0)
        family = fake.user(5001 + index, first_name=f"Parent {index}", language_code="en")
        summaries.append((family, await world.draft_report(family, point), station))
    note(f"{cases} reports drafted")
    fake.limit(Limits.telegram(latency=latency))
    start, t0 = len(fake.calls), time.monotonic()
    confirms: dict[int, float] = {}
    for index, (family, summary, _) in enumerate(summaries):
        await asyncio.sleep(max(0.0, t0 + index * CONFIRM_EVERY_S - time.monotonic()))
        confirms[index + 1] = time.monotonic()
        fake.click(family, summary, "Confirm")
    await drained(world, timeout=600)
    report(fake.calls[start:], t0, confirms, summaries, fake)


async def drained(world: World, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await pending_count(world.services) > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await world.fake.wait_idle(quiet=0.5, timeout=30)


def report(
    calls: Sequence[ApiCall],
    t0: float,
    confirms: dict[int, float],
    summaries: Sequence[tuple[FakeUser, FakeMessage, int]],
    fake: FakeBotApi,
) -> None:
    alerts = alerts_by_case(calls)
    latencies = []
    for case, confirmed in confirms.items():
        times = sorted(alerts.get(case, []))
        first = times[0] - confirmed if times else None
        if first is not None:
            latencies.append(first)
        emit({
            "measure": "case", "case": case, "station": summaries[case - 1][2] + 1,
            "confirmed_s": round(confirmed - t0, 3),
            "first_alert_after_confirm_s": round(first, 3) if first is not None else None,
            "groups": len(times), "last_alert_s": round(times[-1] - t0, 3) if times else None,
        })  # fmt: skip
    every = sorted(t for times in alerts.values() for t in times)
    minimum = len(every) / GLOBAL_PER_SECOND
    memory, peak = resident_mb()
    emit({
        "measure": "district", "stations": COLUMNS * ROWS, "cases": len(confirms),
        "alerts": len(every),
        "first_alert_spread_s": round(max(latencies) - min(latencies), 3) if latencies else None,
        "first_alert_max_s": round(max(latencies), 3) if latencies else None,
        "last_alert_s": round(every[-1] - t0, 3) if every else None,
        "minimum_s": round(minimum, 3),
        "times_minimum": round((every[-1] - t0) / minimum, 3) if every else None,
        "count_429_by_kind": fake.count_429_by_kind, "violations": len(fake.violations),
        "resident_mb": round(memory, 1), "peak_resident_mb": round(peak, 1),
    })  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=20_000)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.03)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.groups, args.cases, args.latency, Path(folder)))


if __name__ == "__main__":
    main()
