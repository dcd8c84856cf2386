"""The command room's widest ring and the bot's event loop: how long the loop that sends the
alerts is held while the page fetches a case at its widest ring (issue 24, finding 8).

Usage::

    .venv/bin/python benchmarks/room_stall.py [--fetches 20]

The real bot against the fake Bot API with the command room on and the default schedule
(``0:300,10m:1000,30m:2500,1h:5000``); one case widened to each ring in turn. For each ring,
``--fetches`` officers' fetches of ``/api/cases/N`` one after another while a task on the
bot's loop wakes every millisecond and records how late it woke: the longest lateness is the
longest time the loop was held; the ring's first fetch (which makes its blind-spot layer) is
measured on its own. One JSON line per ring on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import aiohttp

from fakegram import FakeBotApi
from searchbot.rehearsal import World, command_room_environment, init_data, world_settings

SCHEDULE = "0:300,10m:1000,30m:2500,1h:5000"


async def watch_loop(lateness: list[float], stop: asyncio.Event) -> None:
    """Wake every millisecond; record how late each wake-up was."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lateness.append(time.perf_counter() - before - 0.001)


async def held(fetching: Coroutine[Any, Any, tuple[int, float]]) -> tuple[float, int, float]:
    """The longest the loop was held while ``fetching`` ran, and what it returned."""
    lateness: list[float] = [0.0]
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_loop(lateness, stop))
    size, each = await fetching
    stop.set()
    await watcher
    return max(lateness), size, each


async def fetch(url: str, headers: dict[str, str], times: int) -> tuple[int, float]:
    """``times`` fetches one after another; the body's size and the mean time of one."""
    size, started = 0, time.perf_counter()
    async with aiohttp.ClientSession() as client:
        for _ in range(times):
            async with client.get(url, headers=headers) as response:
                assert response.status == 200, response.status
                size = len(await response.read())
    return size, (time.perf_counter() - started) / times


async def main(fetches: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite+aiosqlite:///{Path(folder) / 'room.db'}"
        async with FakeBotApi() as fake:
            environment = command_room_environment()
            settings = world_settings(
                fake, database, SEARCHBOT_ESCALATION=SCHEDULE, SEARCHBOT_TICK_SECONDS=60,
                **environment,
            )  # fmt: skip
            async with World(fake, settings) as world:
                officer = await world.officer()
                family = fake.user(5001, first_name="Mother", language_code="en")
                case_id = await world.report(family)
                await world.says(officer, f"/verify {case_id}")
                url = f"{settings.web_url}/api/cases/{case_id}"
                for ring in range(1, 5):
                    if ring > 1:
                        await world.says(officer, f"/escalate {case_id}")
                    headers = {"X-Telegram-Init-Data": init_data(fake.token, officer)}
                    cold, _, _ = await held(fetch(url, headers, 1))  # the ring's first fetch
                    warm, size, each = await held(fetch(url, headers, fetches))
                    print(json.dumps({
                        "ring": ring, "fetches": fetches, "bytes": size,
                        "seconds_per_fetch": round(each, 4),
                        "loop_held_first_fetch_ms": round(1000 * cold, 1),
                        "loop_held_max_ms": round(1000 * warm, 1),
                    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetches", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.fetches))
    sys.exit(0)
