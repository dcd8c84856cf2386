"""Crowd benchmark: hundreds of people press "Checked — not here" in the same second.

Usage::

    .venv/bin/python benchmarks/crowd.py [--groups 60] [--members 4] [--latency 0.03]
                                         [--database URL] [--profile FILE]

The real bot runs against the fake Bot API with Telegram's flood limits (30 sends a second
overall, 20 a minute per group, about one a second per private chat; a 429 on any excess) and
``--latency`` seconds per call. N approved groups lie within 4 km of the last-seen place; each
has K members. A case is reported, verified, and its alert reaches every group. Then two phases,
one JSON line each on stdout (diagnostics go to stderr):

1. ``quiet``: at time 0 a second family presses Confirm on its report, and a member of an
   alerted group answers the first case's alert with a location. Measured: the time until the
   fake receives the answerCallbackQuery of that Confirm, and until the first family holds the
   "Sighting for" message.
2. ``burst``: the same (a third family's Confirm, another sighting) while, at the same time
   0, every member of every group presses "Checked — not here" on the first case's alert
   (N x K presses, in a shuffled order). Measured besides: every press's time to its answer
   (the answerCallbackQuery the fake received), presses per second (presses / time to the last
   answer), median and 99th percentile, how many were answered, how many counted, and the
   edits of the alerts' counters (the fewest seconds between two edits of one message).

``crowd-compare`` puts the two phases side by side: how much longer the Confirm and the
sighting took during the burst than without it.

``--database`` takes a PostgreSQL URL (its public schema is dropped and recreated); by default a
fresh SQLite file. ``--profile FILE`` writes a cProfile of the burst phase.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the fan-out benchmark beside this file: the same groups' layout and the same polling wait
from fanout import disk_points, wait_until
from sqlalchemy import func, text
from sqlmodel import col, select

from fakegram import ApiCall, FakeBotApi, FakeChat, FakeMessage, FakeUser, Limits
from fakegram.rehearsal import CENTRE, World, offset, seed_groups, world_settings
from searchbot import db
from searchbot.models import Alert

GLOBAL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
CHAT_PER_SECOND = 1
SPREAD_M = 4000.0
ESCALATION = "0:5000,1h:6000"  # the first ring covers every group
FIRST_CHAT_ID = -200_000
FIRST_MEMBER_ID = 300_000
FAMILY_IDS = (5001, 5002, 5003)  # the alerted case, the quiet phase's report, the burst's
SIGHTER_IDS = (7001, 7002)
SEED = 20261201
TIMEOUT_S = 60.0


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def note(text_: str) -> None:
    print(f"[crowd] {text_}", file=sys.stderr, flush=True)


def fake_limits(latency: float) -> Limits:
    """Telegram's limits as the fake enforces them. The per-private-chat limit is switched off
    while the families type their reports (before each time 0): the bot answers a dialogue
    directly, and a family tapping through it in a blink is not what is measured here."""
    return Limits(
        global_per_second=GLOBAL_PER_SECOND,
        group_per_minute=GROUP_PER_MINUTE,
        chat_per_second=None,
        latency=latency,
    )


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class Answers:
    """The answerCallbackQuery calls the fake received, by query id, read as they come."""

    def __init__(self, fake: FakeBotApi) -> None:
        self._fake = fake
        self._seen = len(fake.calls)
        self.at: dict[str, float] = {}

    def update(self) -> dict[str, float]:
        calls = self._fake.calls
        for call in calls[self._seen :]:
            if call.method == "answerCallbackQuery" and call.ok:
                self.at.setdefault(str(call.params["callback_query_id"]), call.at)
        self._seen = len(calls)
        return self.at


def sightings_in(fake: FakeBotApi, chat_id: int) -> int:
    return sum("Sighting for" in m.body for m in fake.messages(chat_id))


@dataclass
class Phase:
    """What one phase measured (times in seconds after its time 0)."""

    name: str
    confirm_s: float | None = None
    sighting_s: float | None = None
    presses: int = 0
    answers: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "bench": "crowd",
            "phase": self.name,
            "confirm_answered_ms": _ms(self.confirm_s),
            "sighting_to_family_ms": _ms(self.sighting_s),
        }
        if self.presses:
            last = max(self.answers) if self.answers else None
            record.update(
                presses=self.presses,
                answered=len(self.answers),
                presses_per_s=round(len(self.answers) / last, 1) if last else None,
                answer_median_ms=_ms(statistics.median(self.answers)) if self.answers else None,
                answer_p99_ms=_ms(percentile(self.answers, 0.99)) if self.answers else None,
                last_answer_ms=_ms(last),
            )
        record.update(self.extra)
        return record


@dataclass
class Scene:
    """The people and chats of the benchmark."""

    world: World
    officer: FakeUser
    family: FakeUser
    groups: list[FakeChat]
    members: dict[int, list[FakeUser]]
    alerts: dict[int, FakeMessage]  # group chat id -> the first case's alert


async def build_scene(world: World, groups: int, members: int) -> Scene:
    fake = world.fake
    officer = await world.officer()
    points = disk_points(groups, SPREAD_M, random.Random(SEED))
    chats = await seed_groups(world.services.sessions, fake, points, FIRST_CHAT_ID)
    people: dict[int, list[FakeUser]] = {}
    for index, chat in enumerate(chats):
        crew = [
            fake.user(FIRST_MEMBER_ID + index * members + k, first_name=f"Member {k}")
            for k in range(members)
        ]
        chat.members.extend(u.user_id for u in crew)
        people[chat.chat_id] = crew
    family = fake.user(FAMILY_IDS[0], first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/verify {case_id}")  # sightings reach the family in full
    everyone = {chat.chat_id for chat in chats}
    alerted = await wait_until(
        lambda: all(any(m.photo_file_id for m in fake.messages(c)) for c in everyone), TIMEOUT_S
    )
    assert alerted, "not every group got the first alert"
    await world.settle(timeout=TIMEOUT_S)
    alerts = {c: next(m for m in fake.messages(c) if m.photo_file_id) for c in everyone}
    return Scene(world, officer, family, chats, people, alerts)


async def run_phase(
    scene: Scene, name: str, family_id: int, sighter_id: int, burst: bool, profile: Path | None
) -> Phase:
    """One phase: a new report's Confirm and a sighting at time 0, with or without the burst."""
    world, fake = scene.world, scene.world.fake
    family = fake.user(family_id, first_name=f"Parent {family_id}", language_code="en")
    fake.limits.chat_per_second = None  # see fake_limits: the dialogue is not measured
    summary = await world.draft_report(family)
    await world.settle(timeout=TIMEOUT_S)
    fake.limits.chat_per_second = CHAT_PER_SECOND
    sighter = fake.user(sighter_id, first_name="Shopkeeper", language_code="en")
    group = scene.groups[len(scene.groups) // 2]
    seen_before = sightings_in(fake, scene.family.user_id)
    presses: list[tuple[FakeUser, FakeMessage]] = []
    if burst:
        presses = [
            (u, scene.alerts[c.chat_id]) for c in scene.groups for u in scene.members[c.chat_id]
        ]
        random.Random(SEED + 1).shuffle(presses)
    answers = Answers(fake)
    start = len(fake.calls)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    cpu0, t0 = time.process_time(), time.monotonic()
    confirm = fake.click(family, summary, "Confirm")
    fake.send(
        sighter, chat=group, location=offset(CENTRE, 350, 120), reply_to=scene.alerts[group.chat_id]
    )
    queries = [fake.click(user, alert, "Checked") for user, alert in presses]
    phase = Phase(name, presses=len(queries))
    sighting_at: list[float] = []

    def done() -> bool:
        if not sighting_at and sightings_in(fake, scene.family.user_id) > seen_before:
            sighting_at.append(time.monotonic())
        at = answers.update()
        return bool(sighting_at) and confirm in at and all(q in at for q in queries)

    finished = await wait_until(done, TIMEOUT_S)
    phase.extra["cpu_s"] = round(time.process_time() - cpu0, 3)  # this process: bot and fake
    phase.extra["load_1min"] = os.getloadavg()[0]
    if profiler:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(str(profile))
        note(f"profile of the {name} phase written to {profile}")
    if not finished:
        note(f"{name}: not everything was answered within {TIMEOUT_S:.0f} s")
    at = answers.at
    phase.confirm_s = at[confirm] - t0 if confirm in at else None
    phase.sighting_s = sighting_at[0] - t0 if sighting_at else None
    phase.answers = [at[q] - t0 for q in queries if q in at]
    await world.settle(timeout=TIMEOUT_S)
    if burst:
        phase.extra.update(await counted(scene))
        phase.extra.update(edit_rates(fake.calls[start:]))
        phase.extra["duplicate_answers"] = len(
            [c for c in fake.calls[start:] if c.method == "answerCallbackQuery" and not c.ok]
        )
    phase.extra["count_429"] = sum(1 for c in fake.calls[start:] if c.error_code == 429)
    return phase


async def counted(scene: Scene) -> dict[str, Any]:
    """What the database counted for the first case: groups that checked, and member presses
    when the schema keeps them."""
    async with scene.world.services.sessions() as session:
        groups = (
            await session.exec(
                select(func.count()).where(Alert.case_id == 1, col(Alert.checked_at).is_not(None))  # type: ignore[call-overload]
            )
        ).one()
        try:
            members = (await session.exec(text("SELECT count(*) FROM alert_checks"))).one()[0]  # type: ignore[call-overload]
        except Exception:  # an older schema: no member presses kept
            members = None
    return {"groups_checked": int(groups), "member_checks": members}


def edit_rates(calls: Sequence[ApiCall]) -> dict[str, Any]:
    """Edits of messages in group chats during the phase, and the shortest gap between two
    edits of the same message."""
    edits: dict[tuple[int, int], list[float]] = defaultdict(list)
    for call in calls:
        if call.method.startswith("editMessage") and call.ok:
            key = (int(call.params.get("chat_id", 0)), int(call.params.get("message_id", 0)))
            edits[key].append(call.at)
    gaps = [b - a for times in edits.values() for a, b in zip(times, times[1:], strict=False)]
    return {
        "edits": sum(len(t) for t in edits.values()),
        "edited_messages": len(edits),
        "min_edit_gap_s": round(min(gaps), 3) if gaps else None,
    }


def comparison(quiet: Phase, burst: Phase) -> dict[str, Any]:
    def slower(during: float | None, without: float | None) -> float | None:
        return None if during is None or without is None else _ms(during - without)

    return {
        "bench": "crowd-compare",
        "confirm_slower_ms": slower(burst.confirm_s, quiet.confirm_s),
        "sighting_slower_ms": slower(burst.sighting_s, quiet.sighting_s),
    }


async def reset_postgres(url: str) -> None:
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def bench(args: argparse.Namespace, workdir: Path) -> None:
    url = args.database or f"sqlite+aiosqlite:///{workdir / 'crowd.db'}"
    if not db.is_sqlite(url):
        await reset_postgres(url)
    async with FakeBotApi(limits=fake_limits(args.latency)) as fake:
        settings = world_settings(
            fake,
            url,
            SEARCHBOT_ESCALATION=ESCALATION,
            SEARCHBOT_CHAT_PER_SECOND=CHAT_PER_SECOND,  # the production default
            SEARCHBOT_TICK_SECONDS=5,
        )
        async with World(fake, settings) as world:
            scene = await build_scene(world, args.groups, args.members)
            note(
                f"{args.groups} groups alerted, {args.members} members each; database {url.split(':')[0]}"
            )
            quiet = await run_phase(scene, "quiet", FAMILY_IDS[1], SIGHTER_IDS[0], False, None)
            emit(quiet.record())
            burst = await run_phase(
                scene, "burst", FAMILY_IDS[2], SIGHTER_IDS[1], True, args.profile
            )
            emit(burst.record())
            emit(comparison(quiet, burst))
            if fake.violations:
                note(f"Bot API violations: {fake.violations[:5]}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the burst phase here")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="searchbot-crowd-") as tmp:
        asyncio.run(bench(args, Path(tmp)))
    note(f"done in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
