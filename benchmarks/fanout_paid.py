"""Fan-out with paid broadcast: ``fanout.py --paid``.

Two runs in one invocation, each a fresh database, a fresh fake Bot API as strict as Telegram
(30 sends a second free, 1,000 with ``allow_paid_broadcast``, the two counted in one second; a
chat about one a second after a burst of three; groups 20 a minute; cool-downs after any 429)
with ``--latency`` per call, and the real bot in a process of its own (``searchbot run``, as
``crowd.py`` runs it: the fake's work is not the bot's):

1. ``paid``: ``SEARCHBOT_PAID_BROADCAST_STARS`` pays for every group (0.1 Star each), the bot
   holds Telegram's 10,000 Stars plus that. Time to the last alert against N / 1,000 s.
2. ``free``: the same ring with paid broadcast off. Time to the last alert against N / 30 s.

N groups within 4 km, one ring; an officer verifies the case as soon as its card arrives; a
member of an alerted group answers the alert with a location ``--sighting-after`` seconds after
Confirm (in the paid burst), and the times until the family and the officer hold it are
measured. One JSON line per run (``fanout`` with ``impl`` ``searchbot-paid`` or
``searchbot-free``), then ``fanout-paid-compare``.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from crowd import BotProcess, Crowd, settle
from fanout import (
    AlertWatch,
    FanoutResult,
    _round,
    diagnose,
    disk_points,
    emit,
    fake_groups,
    fake_limits,
    fanout_result,
    note,
    refusals,
    seed_groups,
    sighting_during_fanout,
    sqlite_url,
    verify_when_open,
    wait_until,
)

from fakegram import FakeBotApi
from searchbot.models import db
from searchbot.models.db import Sessions
from searchbot.rehearsal import world_environment

GROUPS = 5000
SPREAD_M = 4000.0
ESCALATION = "0:5000,1h:6000"  # the first ring holds every group
SEED = 20261208
FAMILY_ID = 5001
PAID_PER_SECOND = 1000
FREE_PER_SECOND = 30
MINIMUM_STARS = 10_000  # Telegram's floor for paid broadcasts (the fake keeps it too)


async def one_run(
    groups: int,
    latency: float,
    paid: bool,
    sighting_after: float,
    workdir: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    """The bot fans one case out to ``groups`` groups, paid or free."""
    url = sqlite_url(workdir / ("paid.db" if paid else "free.db"))
    engine = db.create_engine(url)
    await db.upgrade(engine)
    sessions = db.sessions(engine)
    budget = groups * 0.1 + 1  # Stars: every group, and a little spare
    try:
        async with FakeBotApi(stars=MINIMUM_STARS + budget if paid else 0) as fake:
            await seed_groups(sessions, disk_points(groups, SPREAD_M, random.Random(SEED)))
            fake_groups(fake, groups)
            environment = world_environment(
                fake, url, SEARCHBOT_ESCALATION=ESCALATION, SEARCHBOT_CHAT_PER_SECOND=1,
                SEARCHBOT_TICK_SECONDS=5,
                SEARCHBOT_PAID_BROADCAST_STARS=f"{budget:.1f}" if paid else "0",
            )  # fmt: skip
            bot = BotProcess(environment, workdir, profile)
            try:
                started = await wait_until(
                    lambda: any(c.method == "getUpdates" for c in fake.calls), 60
                )
                assert started, f"the bot did not start polling:\n{bot.log_tail()}"
                record = await measure(
                    fake, sessions, bot, groups, latency, paid, sighting_after, profile
                )
            except BaseException:
                note(f"the bot's log ends with:\n{bot.log_tail()}")
                raise
            finally:
                await bot.stop()
    finally:
        await engine.dispose()
    return record


async def measure(
    fake: FakeBotApi,
    sessions: Sessions,
    bot: BotProcess,
    groups: int,
    latency: float,
    paid: bool,
    sighting_after: float,
    profile: Path | None,
) -> dict[str, Any]:
    """From the family's Confirm to the last alert, with a sighting in the middle."""
    player = Crowd(fake, sessions)
    officer = await player.officer()
    family = fake.user(FAMILY_ID, first_name="Mother", language_code="en")
    summary = await player.draft_report(family)
    await settle(player, sessions, 0.4)
    fake.limit(fake_limits(latency))  # Telegram's limits from the click on
    start, before_429 = len(fake.calls), refusals(fake)
    stars_before, cpu_before, fake_cpu = fake.stars_spent, bot.cpu_seconds(), time.process_time()
    if profile:
        bot.signal(signal.SIGUSR1)  # crowd_bot.py starts its profiler
    t0 = time.monotonic()
    fake.click(family, summary, "Confirm")
    verifying = asyncio.create_task(verify_when_open(fake, officer))
    sighting = asyncio.create_task(
        sighting_during_fanout(fake, t0, start, family, officer, after=sighting_after)
    )
    watch = AlertWatch(fake, start)
    timeout = 3 * groups / FREE_PER_SECOND + 60
    if not await wait_until(lambda: watch.alerted() >= groups, timeout, interval=0.05):
        note(f"{'paid' if paid else 'free'}: not every group was alerted within {timeout:.0f} s")
    cpu = bot.cpu_seconds() - cpu_before, time.process_time() - fake_cpu
    if profile:
        bot.signal(signal.SIGUSR2)
        note(f"profile of the bot from Confirm to the last alert: {profile}")
    times = await sighting
    await verifying
    await settle(player, sessions)  # late duplicates (a retry after a success) are counted
    calls = fake.calls[start:]
    result = fanout_result(calls, t0, groups, refusals(fake, before_429), 0)
    impl = "searchbot-paid" if paid else "searchbot-free"
    diagnose(impl, calls, t0)
    if fake.violations:
        note(f"{impl}: Bot API violations: {fake.violations[:5]}")
    return record_of(result, impl, paid, calls, times, fake.stars_spent - stars_before, cpu)


def record_of(
    result: FanoutResult,
    impl: str,
    paid: bool,
    calls: list[Any],
    times: Any,
    stars: float,
    cpu: tuple[float, float],
) -> dict[str, Any]:
    rate = PAID_PER_SECOND if paid else FREE_PER_SECOND
    result.minimum_s, result.per_second = result.groups / rate, rate
    record = result.record(impl)
    record.update(
        per_second_limit=rate,
        paid_calls=sum(1 for call in calls if call.paid),
        stars_spent=round(stars, 1),
        sighting_to_family_s=_round(times.family_s),
        sighting_to_officer_s=_round(times.officer_s),
        bot_cpu_s=round(cpu[0], 2),
        fake_cpu_s=round(cpu[1], 2),  # this process: the fake Bot API and the people
        load_1min=os.getloadavg()[0],
    )
    return record


async def runs(
    groups: int, latency: float, sighting_after: float, free: bool, profile: Path | None
) -> None:
    with tempfile.TemporaryDirectory(prefix="searchbot-paid-") as tmp:
        paid = await one_run(groups, latency, True, sighting_after, Path(tmp), profile)
        emit(paid)
        if not free:
            return
        began = time.monotonic()
        unpaid = await one_run(groups, latency, False, sighting_after, Path(tmp))
        note(f"the free run took {time.monotonic() - began:.0f} s in all")
        emit(unpaid)
    speedup = None
    if paid["lost"] == 0 and unpaid["lost"] == 0 and paid["last_alert_s"]:
        speedup = round(unpaid["last_alert_s"] / paid["last_alert_s"], 1)
    emit({"bench": "fanout-paid-compare", "last_alert_speedup": speedup})


def main(
    groups: int | None,
    latency: float,
    sighting_after: float,
    free: bool,
    profile: Path | None = None,
) -> None:
    """Both runs (``free``: the free one too); ``profile``: a cProfile of the paid run's bot."""
    profile = profile.resolve() if profile else None
    asyncio.run(runs(groups or GROUPS, latency, sighting_after, free, profile))
