"""Another bot process's stage timer, for the two-process test: ``python -m tests.second_process
SECONDS`` ticks the escalation against the configured database (from the environment) for that
long, as a second bot on the same database would, then prints how many stages it fired."""

from __future__ import annotations

import asyncio
import sys
import time

from searchbot import app
from searchbot.cases import escalation
from searchbot.settings import load_settings


async def tick_for(seconds: float) -> int:
    runtime = app.build(load_settings())
    print("ready", flush=True)  # the test reports only once this process can race it
    fired = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            fired += await escalation.tick(runtime.services)
            await asyncio.sleep(0.01)
    finally:
        await runtime.engine.dispose()
    return fired


if __name__ == "__main__":
    print(f"fired {asyncio.run(tick_for(float(sys.argv[1])))}")
