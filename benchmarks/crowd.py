"""Crowd benchmark: hundreds of people press "Checked — not here" in the same second.

Usage::

    .venv/bin/python benchmarks/crowd.py [--groups 60] [--members 4] [--latency 0.03]
        [--database URL] [--profile FILE] [--burner] [--bot-nice N]

The real bot runs in its own process (``searchbot run``, see ``crowd_bot.py``), as in production:
this process holds the fake Bot API with Telegram's limits (30 sends a second overall, 20 a
minute per group, about one a second per private chat; a 429 on any excess), ``--latency``
seconds per call, and the people who press. N approved groups within 4 km of the last-seen
place (written to the database before the bot starts), K members each. A case is reported,
verified, and its alert reaches every group. Then two phases, one JSON line each on stdout
(diagnostics go to stderr):

1. ``quiet``: at time 0 a second family presses Confirm on its report, and a member of an
   alerted group answers the first case's alert with a location. Measured: the time until the
   fake receives the answerCallbackQuery of that Confirm, and until the first family holds the
   "Sighting for" message.
2. ``burst``: the same (a third family's Confirm, another sighting) while at time 0 every
   member of every group presses "Checked — not here" on the first alert (N x K presses,
   shuffled; ``pressed_within_ms``: how long this process took to make them all, the fake's
   server serving the bot's polls meanwhile). Measured besides: each press's time from its
   making to its answerCallbackQuery at the fake (median and 99th percentile; ``first`` and
   ``last_answer_ms`` count from time 0), presses a second, how many were answered and
   counted, and the counters' edits (the fewest seconds between two edits of one message).

``crowd-compare`` puts the two phases side by side: how much longer the Confirm and the
sighting took during the burst than without it. ``--burner``: all of it again with a CPU
burner per core (``burner.py``), and ``crowd-burner-compare``; this process (the fake, which
stands for Telegram, not on the machine) then runs at niceness -10, the bot at ``--bot-nice``.

``--database``: a PostgreSQL URL (its public schema is dropped and recreated; default: a fresh
SQLite file). ``--profile FILE``: a cProfile of the bot during the burst; with
``CROWD_TIMELINE=1`` in the environment, the burst's first second of Bot API calls on stderr
(``ms:method``: when each poll went and each answer arrived). ``cpu_s`` is the bot
process's CPU time during a phase, ``fake_cpu_s`` this process's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the fan-out benchmark beside this file: the same groups' layout and the same polling wait
from burner import burners, side_by_side
from fanout import disk_points, wait_until
from sqlalchemy import func, text
from sqlmodel import col, select

from fakegram import ApiCall, FakeBotApi, FakeChat, FakeMessage, FakeUser, Limits
from searchbot.models import Alert, OutboxMessage, db
from searchbot.models.db import Sessions
from searchbot.rehearsal import CENTRE, Player, offset, seed_groups, world_environment

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
SETTLED_QUIET_S = 2.0  # no Bot API call for this long: the presses' counters are edited by now
DIALOGUE_QUIET_S = 0.4  # a dialogue's step is answered in full after this long without a call
BOT_RUNNER = Path(__file__).with_name("crowd_bot.py")
PRESSES_PER_TURN = 10  # presses made before the fake's server gets a turn (crowd_presses)
FAKE_NICE = -10  # with --burner: this process (the fake Bot API, the people) before the others


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
    answers: list[float] = field(default_factory=list)  # each press's answer, from time 0
    waits: list[float] = field(default_factory=list)  # and from its own press
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
                first_answer_ms=_ms(min(self.answers)) if self.answers else None,
                answer_median_ms=_ms(statistics.median(self.waits)) if self.waits else None,
                answer_p99_ms=_ms(percentile(self.waits, 0.99)) if self.waits else None,
                last_answer_ms=_ms(last),
            )
        record.update(self.extra)
        return record


class BotProcess:
    """``searchbot run`` in a process of its own, configured by environment variables."""

    def __init__(
        self, environment: dict[str, str], workdir: Path, profile: Path | None, nice: int = 0
    ) -> None:
        self.log_path = workdir / "bot.log"
        command = [sys.executable, str(BOT_RUNNER)] + ([str(profile)] if profile else [])
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, env={**os.environ, **environment}, cwd=workdir,  # no stray .env
            stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, nice),  # systemd's Nice=
        )  # fmt: skip

    def cpu_seconds(self) -> float:
        """User and system CPU time of the bot process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> None:
        """SIGINT (a graceful stop, as on Ctrl-C), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            if not await wait_until(lambda: self.process.poll() is not None, 20.0):
                self.process.kill()
        self.process.wait()
        self._log.close()


class Crowd(Player):
    """The people of the benchmark. The bot's process cannot be asked whether it is still
    handling an update: a step of a dialogue is over once the bot has been silent for a while
    and its outbox is empty (the dialogues before each time 0 are not measured)."""

    def __init__(self, fake: FakeBotApi, sessions: Sessions) -> None:
        super().__init__(fake)
        self.sessions = sessions

    async def settle(self, timeout: float = 20.0) -> None:
        await settle(self, self.sessions, DIALOGUE_QUIET_S)


@dataclass
class Scene:
    """The people and chats of the benchmark, and the bot they talk to."""

    player: Player
    sessions: Sessions
    bot: BotProcess
    officer: FakeUser
    family: FakeUser
    groups: list[FakeChat]
    members: dict[int, list[FakeUser]]
    alerts: dict[int, FakeMessage]  # group chat id -> the first case's alert


async def settle(player: Player, sessions: Sessions, quiet: float = SETTLED_QUIET_S) -> None:
    """Wait until the bot has fallen quiet and its outbox is empty (the bot's process cannot
    be asked whether it is busy: its calls and its database tell)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        await player.fake.wait_idle(quiet=quiet, timeout=TIMEOUT_S)
        if await pending_rows(sessions) == 0:
            await player.fake.wait_idle(quiet=quiet, timeout=TIMEOUT_S)
            if await pending_rows(sessions) == 0:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not settle: outbox rows still pending")


async def pending_rows(sessions: Sessions) -> int:
    async with sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.status).in_(("pending", "sending")))
        return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def seed_scene(
    fake: FakeBotApi, sessions: Sessions, groups: int, members: int
) -> tuple[list[FakeChat], dict[int, list[FakeUser]]]:
    """The approved groups in the database and their members in the fake (before the bot
    starts)."""
    points = disk_points(groups, SPREAD_M, random.Random(SEED))
    chats = await seed_groups(sessions, fake, points, FIRST_CHAT_ID)
    people: dict[int, list[FakeUser]] = {}
    for index, chat in enumerate(chats):
        crew = [
            fake.user(FIRST_MEMBER_ID + index * members + k, first_name=f"Member {k}")
            for k in range(members)
        ]
        chat.members.extend(u.user_id for u in crew)
        people[chat.chat_id] = crew
    return chats, people


async def build_scene(
    player: Player,
    sessions: Sessions,
    bot: BotProcess,
    chats: list[FakeChat],
    people: dict[int, list[FakeUser]],
) -> Scene:
    """An officer, and a verified case whose alert reached every group."""
    fake = player.fake
    officer = await player.officer()
    family = fake.user(FAMILY_IDS[0], first_name="Mother", language_code="en")
    case_id = await player.report(family)
    await player.says(officer, f"/verify {case_id}")  # sightings reach the family in full
    everyone = {chat.chat_id for chat in chats}
    alerted = await wait_until(
        lambda: all(any(m.photo_file_id for m in fake.messages(c)) for c in everyone), TIMEOUT_S
    )
    assert alerted, "not every group got the first alert"
    await settle(player, sessions)
    alerts = {c: next(m for m in fake.messages(c) if m.photo_file_id) for c in everyone}
    return Scene(player, sessions, bot, officer, family, chats, people, alerts)


async def run_phase(
    scene: Scene, name: str, family_id: int, sighter_id: int, burst: bool, profile: Path | None
) -> Phase:
    """One phase: a new report's Confirm and a sighting at time 0, with or without the burst."""
    player, fake = scene.player, scene.player.fake
    family = fake.user(family_id, first_name=f"Parent {family_id}", language_code="en")
    fake.limits.chat_per_second = None  # see fake_limits: the dialogue is not measured
    summary = await player.draft_report(family)
    await settle(player, scene.sessions)
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
    if profile:
        scene.bot.signal(signal.SIGUSR1)  # crowd_bot.py starts its profiler
    cpu0, bot_cpu0, t0 = time.process_time(), scene.bot.cpu_seconds(), time.monotonic()
    confirm = fake.click(family, summary, "Confirm")
    fake.send(
        sighter, chat=group, location=offset(CENTRE, 350, 120), reply_to=scene.alerts[group.chat_id]
    )
    queries, clicked = await crowd_presses(fake, presses)
    phase = Phase(name, presses=len(queries))
    phase.extra["pressed_within_ms"] = _ms(max(clicked.values()) - t0) if clicked else None
    sighting_at: list[float] = []

    def done() -> bool:
        if not sighting_at and sightings_in(fake, scene.family.user_id) > seen_before:
            sighting_at.append(time.monotonic())
        at = answers.update()
        return bool(sighting_at) and confirm in at and all(q in at for q in queries)

    finished = await wait_until(done, TIMEOUT_S)
    phase.extra["cpu_s"] = round(scene.bot.cpu_seconds() - bot_cpu0, 3)
    phase.extra["fake_cpu_s"] = round(time.process_time() - cpu0, 3)  # the fake and the crowd
    phase.extra["load_1min"] = os.getloadavg()[0]
    if profile:
        scene.bot.signal(signal.SIGUSR2)
        note(f"profile of the bot in the {name} phase: {profile}")
    if not finished:
        note(f"{name}: not everything was answered within {TIMEOUT_S:.0f} s")
    at = answers.at
    phase.confirm_s = at[confirm] - t0 if confirm in at else None
    phase.sighting_s = sighting_at[0] - t0 if sighting_at else None
    phase.answers = [at[q] - t0 for q in queries if q in at]
    phase.waits = [at[q] - clicked[q] for q in queries if q in at]
    if os.environ.get("CROWD_TIMELINE") and burst:
        note(timeline(fake.calls[start:], t0))
    await settle(player, scene.sessions)
    if burst:
        phase.extra.update(await counted(scene))
        phase.extra.update(edit_rates(fake.calls[start:]))
        phase.extra["duplicate_answers"] = len(
            [c for c in fake.calls[start:] if c.method == "answerCallbackQuery" and not c.ok]
        )
    phase.extra["count_429"] = sum(1 for c in fake.calls[start:] if c.error_code == 429)
    return phase


async def crowd_presses(
    fake: FakeBotApi, presses: Sequence[tuple[FakeUser, FakeMessage]]
) -> tuple[list[str], dict[str, float]]:
    """Every press of the crowd, as fast as this process makes them; returns their query ids
    and when each was made. Telegram takes presses in while it answers the bot's polls: every
    ``PRESSES_PER_TURN`` presses the fake's server gets a turn, so the first presses are not
    held back by the time this process spends building the last ones."""
    queries: list[str] = []
    clicked: dict[str, float] = {}
    for index, (user, alert) in enumerate(presses, 1):
        query = fake.click(user, alert, "Checked")
        clicked[query] = time.monotonic()
        queries.append(query)
        if index % PRESSES_PER_TURN == 0:
            await asyncio.sleep(0)
    return queries, clicked


def timeline(calls: Sequence[ApiCall], t0: float, seconds: float = 1.0) -> str:
    """The Bot API calls of the phase's first ``seconds``: milliseconds from its start and
    the method's first letters, in the order the fake received them."""
    shown = [c for c in calls if c.at - t0 <= seconds]
    return " ".join(f"{(c.at - t0) * 1000:.0f}:{c.method[:6]}" for c in shown)


async def counted(scene: Scene) -> dict[str, Any]:
    """What the database counted for the first case: groups that checked, and member presses
    when the schema keeps them."""
    async with scene.sessions() as session:
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


async def bench(args: argparse.Namespace, workdir: Path, machine: str = "quiet") -> Phase:
    workdir.mkdir(exist_ok=True)
    url = args.database or f"sqlite+aiosqlite:///{workdir / 'crowd.db'}"
    if not db.is_sqlite(url):
        await reset_postgres(url)
    engine = db.create_engine(url)
    await db.upgrade(engine)
    sessions = db.sessions(engine)
    try:
        async with FakeBotApi(limits=fake_limits(args.latency)) as fake:
            chats, people = await seed_scene(fake, sessions, args.groups, args.members)
            environment = world_environment(
                fake,
                url,
                SEARCHBOT_ESCALATION=ESCALATION,
                SEARCHBOT_CHAT_PER_SECOND=CHAT_PER_SECOND,  # the production default
                SEARCHBOT_TICK_SECONDS=5,
            )
            bot = BotProcess(environment, workdir, args.profile, args.bot_nice)
            try:
                polling = await wait_until(
                    lambda: any(c.method == "getUpdates" for c in fake.calls), TIMEOUT_S
                )
                assert polling, f"the bot did not start polling:\n{bot.log_tail()}"
                burst = await run_phases(
                    Crowd(fake, sessions), sessions, bot, chats, people, args.profile, machine
                )
            except BaseException:
                note(f"the bot's log ends with:\n{bot.log_tail()}")
                note(fake.report("the fake at the failure", tail=20))
                raise
            finally:
                await bot.stop()
            if fake.violations:
                note(f"Bot API violations: {fake.violations[:5]}")
    finally:
        await engine.dispose()
    return burst


async def run_phases(
    player: Player,
    sessions: Sessions,
    bot: BotProcess,
    chats: list[FakeChat],
    people: dict[int, list[FakeUser]],
    profile: Path | None,
    machine: str = "quiet",
) -> Phase:
    """The two phases (``machine``: what else the machine was doing, for the records)."""
    scene = await build_scene(player, sessions, bot, chats, people)
    note(f"{len(chats)} groups alerted, {len(people[chats[0].chat_id])} members each")
    quiet = await run_phase(scene, "quiet", FAMILY_IDS[1], SIGHTER_IDS[0], False, None)
    emit({**quiet.record(), "machine": machine})
    burst = await run_phase(scene, "burst", FAMILY_IDS[2], SIGHTER_IDS[1], True, profile)
    emit({**burst.record(), "machine": machine})
    emit({**comparison(quiet, burst), "machine": machine})
    return burst


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", type=Path, help="a cProfile of the bot during the burst")
    parser.add_argument("--bot-nice", type=int, default=0, help="the bot's niceness (Nice=)")
    parser.add_argument("--burner", action="store_true", help="again with a burner per core")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="searchbot-crowd-") as tmp:
        if args.profile:
            args.profile = args.profile.resolve()
        if args.burner:  # the fake is Telegram, not on this machine: first, in both runs
            os.setpriority(os.PRIO_PROCESS, 0, FAKE_NICE)
        quiet = asyncio.run(bench(args, Path(tmp) / "quiet"))
        if args.burner:
            with burners() as count:
                busy = asyncio.run(bench(args, Path(tmp) / "burner", f"{count} burners"))
            emit(side_by_side(quiet.record(), busy.record(), count))
    note(f"done in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
