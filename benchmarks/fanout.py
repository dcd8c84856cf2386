"""Fan-out benchmark: how fast and how completely searchbot alerts every group of a ring, and how
quickly a sighting reaches the family while that fan-out is still going on.

Usage::

    .venv/bin/python benchmarks/fanout.py [--groups 600] [--latency 0.03] [--quick]

Four measurements, one JSON line each on stdout (diagnostics go to stderr):

1. ``fanout`` / ``searchbot``: the real bot against the fake Bot API with Telegram's flood
   limits, as strict as Telegram (30 sends a second overall, about one a second in any chat
   after a burst of three, 20 a minute per group; after a 429 the chat, or the whole bot when
   the overall limit was exceeded, is refused until retry_after has passed), switched on at the
   click. N approved groups within 4 km of the last-seen place, a first ring of 5 km that covers
   them all; time 0 is the family's click on Confirm. ``count_429_by_kind`` says which limit
   each 429 came from (``cooldown``: a call made while a cool-down was running);
   ``times_minimum`` is the time to the last alert over the minimum, N/30 s; ``limit_used``
   is every send until the last alert (the alerts and the messages to the family and the
   officers in the same seconds: ``sends``) over 30 a second of that time. Five seconds in,
   somebody in an alerted group answers the alert with a location, and the time until the
   family and the officer hold the sighting is measured.
2. ``fanout`` / ``ptb-AIORateLimiter+gather``: the reference, in the same run: python-telegram-bot's
   own ``AIORateLimiter`` (default settings) and a plain ``asyncio.gather`` of ``send_photo`` to
   the same N groups against a fresh fake with the same limits; then ``fanout-compare``.
3. ``stage-selection``: ``escalation.groups_within`` over 10,000 registered groups, against a
   full scan with a geodesic filter in Python.
4. ``memory``: the resident memory of a process that hosts the bot with those 10,000 groups.

Alert times are the moments the fake Bot API received the successful ``sendPhoto`` calls
(``ApiCall.at``); the message becomes visible ``--latency`` seconds later. A side that left
groups without an alert has no time to its last alert: its ``ratio`` and the comparison's
``last_alert_speedup`` are then null (``lost`` says how many never got it). Parts 3 and 4 run in
a child process (this script with ``--selection-child``) so that the memory figure is not
inflated by what parts 1 and 2 left behind; that child still hosts the fake Bot API and the
benchmark code besides the bot, and nothing is subtracted for them.

With ``FANOUT_TIMELINE=1`` in the environment, every side's Bot API calls of the first
``TIMELINE_SECONDS`` go to stderr (time, method, chat, error code): where a gap comes from.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import logging
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from fakegram import ApiCall, FakeBotApi, FakeChat, FakeUser, Limits
from searchbot.cases.escalation import groups_within
from searchbot.delivery.dispatcher import pending_count
from searchbot.domain.grid import cells_of, distance_m
from searchbot.models import Case, Group, db
from searchbot.models.db import Sessions
from searchbot.rehearsal import CENTRE, World, offset, world_settings

log = logging.getLogger("benchmarks.fanout")

GLOBAL_PER_SECOND = 30  # Telegram's overall limit, enforced by the fake
GROUP_PER_MINUTE = 20  # Telegram's per-group limit, enforced by the fake
SPREAD_M = 4000.0  # fan-out groups lie within this distance of the last-seen place
ESCALATION = "0:5000,1h:6000"  # the first ring (5 km) covers every group
SIGHTING_AFTER_S = 5.0  # when, after Confirm, somebody answers an alert
SIGHTING_TIMEOUT_S = 30.0
SQUARE_M = 12000.0  # stage selection: groups spread over a square of this side
SELECTION_RADIUS_M = 5000
SELECTION_REPEATS = 20
REFERENCE_REPEATS = 20
TIMELINE_SECONDS = 3.3  # FANOUT_TIMELINE=1: the calls of the first seconds, on stderr
CHILD_TIMEOUT_S = 600.0
POLL_S = 0.005  # how often the waits below look at the fake
FAMILY_ID = 5001
SIGHTER_ID = 7001
PHOTO_OWNER_ID = 7002
FIRST_CHAT_ID = -100_000
SEED = 20240601
CAPTION = (  # the reference's caption, about as long as searchbot's alert caption
    "MISSING CHILD #1: boy, 6, red T-shirt, blue shorts, 110 cm, short hair. Last seen "
    "0.4 km from here, just now. If you see him, reply to this message with a location."
)


def emit(record: dict[str, Any]) -> None:
    """One measurement: a JSON line on stdout."""
    print(json.dumps(record), flush=True)


def note(text: str) -> None:
    """A diagnostic line on stderr (never on stdout: stdout is JSON only)."""
    print(f"[fanout] {text}", file=sys.stderr, flush=True)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def fake_limits(latency: float) -> Limits:
    """Telegram's flood limits as the fake enforces them (see ``fakegram/src/fakegram/limits.py``):
    30 a second overall, 20 a minute per group, about one a second in any chat after a burst of
    three, and a cool-down after every 429 (for the chat, or for the whole bot when the overall
    limit was exceeded) during which every call is refused again."""
    limits = Limits.telegram(latency=latency)
    assert limits.global_per_second == GLOBAL_PER_SECOND
    assert limits.group_per_minute == GROUP_PER_MINUTE
    return limits


# --- places ----------------------------------------------------------------------------------


def disk_points(count: int, radius_m: float, rng: random.Random) -> list[tuple[float, float]]:
    """``count`` points spread uniformly over the disk of ``radius_m`` around CENTRE."""
    points = []
    for _ in range(count):
        distance = radius_m * math.sqrt(rng.random()) * 0.999
        bearing = rng.uniform(0.0, 2.0 * math.pi)
        points.append(offset(CENTRE, distance * math.cos(bearing), distance * math.sin(bearing)))
    return points


def square_points(count: int, side_m: float, rng: random.Random) -> list[tuple[float, float]]:
    """``count`` points spread uniformly over a square of ``side_m`` centred on CENTRE."""
    half = side_m / 2.0
    return [
        offset(CENTRE, rng.uniform(-half, half), rng.uniform(-half, half)) for _ in range(count)
    ]


def group_rows(points: Sequence[tuple[float, float]]) -> list[Group]:
    """Approved groups at ``points``, chat ids counting down from FIRST_CHAT_ID."""
    now = datetime.now(UTC)
    rows = []
    for index, (lat, lon) in enumerate(points):
        fine, coarse = cells_of(lat, lon)
        chat_id = FIRST_CHAT_ID - index
        rows.append(
            Group(
                chat_id=chat_id, title=f"Shop {-chat_id}", role="merchant", status="approved",
                lat=lat, lon=lon, cell_fine=fine, cell_coarse=coarse, language="en",
                registered_by=0, created_at=now,
            )
        )  # fmt: skip
    return rows


async def seed_groups(sessions: Sessions, points: Sequence[tuple[float, float]]) -> None:
    """Approved groups written straight to the database. Registering hundreds of groups through
    the chat flow (/register, location, an officer's approval) would take minutes and measure
    nothing this benchmark is about."""
    async with sessions() as session:
        session.add_all(group_rows(points))
        await session.commit()


def fake_groups(fake: FakeBotApi, count: int) -> list[FakeChat]:
    """The same groups on the fake's side, with the bot in them (unknown chats answer 400)."""
    return [
        fake.group(chat_id=FIRST_CHAT_ID - i, title=f"Shop {i - FIRST_CHAT_ID}")
        for i in range(count)
    ]


# --- measuring the fan-out -------------------------------------------------------------------


def is_alert(call: ApiCall) -> bool:
    """A successful sendPhoto to a group chat."""
    return call.method == "sendPhoto" and call.ok and int(call.params.get("chat_id", 0)) < 0


def counts_to_the_limit(call: ApiCall) -> bool:
    """A successful send of any kind: what Telegram's 30 a second counts (``fakegram``'s rule)."""
    sends = call.method.startswith(("send", "copy", "forward")) and call.method != "sendChatAction"
    return sends and call.ok


def first_alerts(calls: Sequence[ApiCall]) -> dict[int, float]:
    """The time of each group's first alert."""
    firsts: dict[int, float] = {}
    for call in calls:
        if is_alert(call):
            firsts.setdefault(int(call.params["chat_id"]), call.at)
    return firsts


@dataclass
class FanoutResult:
    """What one fan-out achieved, relative to its time 0."""

    groups: int
    first_alert_s: float | None
    last_alert_s: float | None
    minimum_s: float
    delivered: int
    duplicates: int
    count_429: int
    refused: dict[str, int]
    uploaded_bytes: int
    sends: int = 0  # of any kind, to groups and people, until the last alert
    per_second: float = GLOBAL_PER_SECOND  # the limit the sends went under

    @property
    def limit_used(self) -> float | None:
        """Every send until the last alert (the alerts and the messages to people in the same
        seconds) over what the limit allows in that time."""
        if not self.last_alert_s or self.delivered < self.groups:
            return None
        return self.sends / (self.per_second * self.last_alert_s)

    @property
    def lost(self) -> int:
        return self.groups - self.delivered

    @property
    def ratio(self) -> float | None:
        """Theoretical minimum over the measured time to the last alert (1.0 = at the limit)."""
        if not self.last_alert_s or self.delivered < self.groups:
            return None  # not everybody was alerted: there is no "last alert" to compare
        return self.minimum_s / self.last_alert_s

    def record(self, impl: str) -> dict[str, Any]:
        return {
            "bench": "fanout",
            "impl": impl,
            "groups": self.groups,
            "first_alert_s": _round(self.first_alert_s),
            "last_alert_s": _round(self.last_alert_s),
            "minimum_s": _round(self.minimum_s),
            "ratio": _round(self.ratio),
            "times_minimum": _round(1 / self.ratio if self.ratio else None),
            "sends": self.sends,
            "limit_used": _round(self.limit_used),
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "count_429": self.count_429,
            "count_429_by_kind": self.refused,
            "uploaded_bytes": self.uploaded_bytes,
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def fanout_result(
    calls: Sequence[ApiCall],
    t0: float,
    groups: int,
    refused: dict[str, int],
    uploaded_bytes: int,
) -> FanoutResult:
    alerts = [call for call in calls if is_alert(call)]
    per_group = Counter(int(call.params["chat_id"]) for call in alerts)
    firsts = first_alerts(calls)
    last = max(firsts.values()) if firsts else t0
    return FanoutResult(
        groups=groups,
        first_alert_s=min(firsts.values()) - t0 if firsts else None,
        last_alert_s=max(firsts.values()) - t0 if firsts else None,
        minimum_s=groups / GLOBAL_PER_SECOND,
        delivered=len(per_group),
        duplicates=sum(count - 1 for count in per_group.values()),
        count_429=sum(refused.values()),
        refused={kind: count for kind, count in refused.items() if count},
        uploaded_bytes=uploaded_bytes,
        sends=sum(1 for call in calls if counts_to_the_limit(call) and call.at <= last),
    )


def refusals(fake: FakeBotApi, before: dict[str, int] | None = None) -> dict[str, int]:
    """The fake's 429s by kind (chat, group, overall, cooldown, storm, injected) since
    ``before``."""
    now = fake.count_429_by_kind
    return {kind: count - (before or {}).get(kind, 0) for kind, count in now.items()}


class AlertWatch:
    """Follows the fake's calls as they come, without rescanning them (the bot being measured
    shares this event loop)."""

    def __init__(self, fake: FakeBotApi, start: int) -> None:
        self._fake = fake
        self._seen = start
        self.groups: set[int] = set()

    def alerted(self) -> int:
        """How many groups have had an alert so far."""
        calls = self._fake.calls
        for call in calls[self._seen :]:
            if is_alert(call):
                self.groups.add(int(call.params["chat_id"]))
        self._seen = len(calls)
        return len(self.groups)


def confirm_timeline(calls: Sequence[ApiCall], t0: float, family_id: int) -> None:
    """On stderr: when the bot answered the Confirm click, when the family's "is open" message
    arrived and when the first alert did (where the time to the first alert goes)."""

    def first(predicate: Callable[[ApiCall], bool]) -> str:
        at = next((call.at - t0 for call in calls if predicate(call)), None)
        return "never" if at is None else f"{at:.3f} s"

    answered = first(lambda c: c.method == "answerCallbackQuery")
    opened = first(
        lambda c: (
            int(c.params.get("chat_id", 0)) == family_id
            and "is open" in str(c.params.get("text", ""))
        )
    )
    note(
        f"searchbot: Confirm answered at {answered}, the family's 'is open' message at "
        f"{opened}, the first alert at {first(is_alert)} (arrival times at the fake)"
    )


def diagnose(impl: str, calls: Sequence[ApiCall], t0: float) -> None:
    """On stderr: the 429s (which method, which kind of chat, when), the largest gaps in the
    alert timeline and the alert rate second by second, for whoever tunes the dispatcher."""
    refused = [call for call in calls if call.error_code == 429]
    kinds = Counter(
        (call.method, "group" if int(call.params.get("chat_id", 0)) < 0 else "private")
        for call in refused
    )
    note(f"{impl}: 429s by (method, chat): {dict(kinds) or 'none'}")
    if refused:
        moments = ", ".join(f"{call.at - t0:.2f}" for call in refused[:15])
        note(f"{impl}: first 429s at (s after time 0): {moments}")
    if os.environ.get("FANOUT_TIMELINE"):  # the first seconds' calls: where a gap comes from
        for call in (call for call in calls if call.at - t0 < TIMELINE_SECONDS):
            chat, refused = call.params.get("chat_id", ""), call.error_code or ""
            note(f"{impl}:   {call.at - t0:.3f} {call.method} {chat} {refused}")
    times = sorted(first_alerts(calls).values())
    gaps = sorted(
        ((later - earlier, earlier - t0) for earlier, later in zip(times, times[1:], strict=False)),
        reverse=True,
    )[:3]
    if gaps:
        text = ", ".join(f"{gap * 1000:.0f} ms at {at:.2f} s" for gap, at in gaps)
        note(f"{impl}: largest gaps between alerts: {text}")
    per_second = Counter(int(at - t0) for at in times)
    if per_second:
        rates = " ".join(str(per_second.get(s, 0)) for s in range(max(per_second) + 1))
        note(f"{impl}: new groups alerted per second: {rates}")
    others = Counter(
        call.method
        for call in calls
        if call.ok and call.method.startswith("send") and not is_alert(call)
    )
    if others:
        note(f"{impl}: other sends during the run: {dict(others)}")


async def wait_until(
    predicate: Callable[[], object], timeout: float, interval: float = POLL_S
) -> bool:
    """Poll ``predicate()`` until it is true (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


# --- part 1: searchbot -----------------------------------------------------------------------


@dataclass
class SightingTimes:
    family_s: float | None = None
    officer_s: float | None = None


async def verify_when_open(fake: FakeBotApi, officer: FakeUser) -> None:
    """An officer verifies the case as soon as its card arrives: only a verified case's family
    hears sightings in full (before that, a notice that one came in)."""
    if await wait_until(
        lambda: any("#1" in m.body for m in fake.messages(officer.user_id)), timeout=30
    ):
        fake.send(officer, text="/verify 1")
    else:
        note("verification: the officer never got the case card")


def holds_sighting(fake: FakeBotApi, chat_id: int) -> bool:
    return any("Sighting for" in message.body for message in fake.messages(chat_id))


async def sighting_during_fanout(
    fake: FakeBotApi,
    t0: float,
    start: int,
    family: FakeUser,
    officer: FakeUser,
    after: float = SIGHTING_AFTER_S,
) -> SightingTimes:
    """``after`` seconds after Confirm, a member of an alerted group replies to the alert with
    a location; returns how long the family and the officer waited for "Sighting for"."""
    times = SightingTimes()
    await asyncio.sleep(max(0.0, t0 + after - time.monotonic()))
    alerted = await wait_until(
        lambda: any(is_alert(c) for c in fake.calls[start:]), timeout=SIGHTING_TIMEOUT_S
    )
    if not alerted:
        note("sighting: no group was alerted, nobody could answer an alert")
        return times
    chat_id = next(int(c.params["chat_id"]) for c in fake.calls[start:] if is_alert(c))
    alert = fake.messages(chat_id)[0]
    if holds_sighting(fake, family.user_id) or holds_sighting(fake, officer.user_id):
        note("sighting: a sighting was there before anybody saw anything")
    sighter = fake.user(SIGHTER_ID, first_name="Shopkeeper Wang", language_code="en")
    sent_at = time.monotonic()
    fake.send(sighter, chat=fake.chat(chat_id), location=offset(CENTRE, 350, 120), reply_to=alert)
    note(f"sighting: sent in group {chat_id} at {sent_at - t0:.2f} s after Confirm")
    deadline = sent_at + SIGHTING_TIMEOUT_S
    while time.monotonic() < deadline and (times.family_s is None or times.officer_s is None):
        now = time.monotonic()
        if times.family_s is None and holds_sighting(fake, family.user_id):
            times.family_s = now - sent_at
        if times.officer_s is None and holds_sighting(fake, officer.user_id):
            times.officer_s = now - sent_at
        await asyncio.sleep(POLL_S)
    if times.family_s is None or times.officer_s is None:
        note(f"sighting: not delivered within {SIGHTING_TIMEOUT_S:.0f} s: {times}")
    return times


async def searchbot_fanout(groups: int, latency: float, workdir: Path) -> dict[str, Any]:
    """Part 1: the real bot fans a case out to ``groups`` groups."""
    points = disk_points(groups, SPREAD_M, random.Random(SEED))
    async with FakeBotApi() as fake:
        settings = world_settings(
            fake,
            sqlite_url(workdir / "fanout.db"),
            SEARCHBOT_ESCALATION=ESCALATION,
            SEARCHBOT_CHAT_PER_SECOND=1,  # the production default (rehearsals use 10)
            SEARCHBOT_TICK_SECONDS=5,  # the production default
        )
        async with World(fake, settings) as world:
            officer = await world.officer()
            await seed_groups(world.services.sessions, points)
            fake_groups(fake, groups)
            family = fake.user(FAMILY_ID, first_name="Mother", language_code="en")
            summary = await world.draft_report(family)
            # The limits hold from the click on: the dialogue before it is the handlers' direct
            # replies, which are not what this benchmark measures.
            fake.limit(fake_limits(latency))

            start, before_429, before_bytes = len(fake.calls), refusals(fake), fake.uploaded_bytes
            t0 = time.monotonic()
            fake.click(family, summary, "Confirm")
            verifying = asyncio.create_task(verify_when_open(fake, officer))
            sighting = asyncio.create_task(sighting_during_fanout(fake, t0, start, family, officer))

            timeout = 3 * groups / GLOBAL_PER_SECOND + 30
            watch = AlertWatch(fake, start)
            done = await wait_until(lambda: watch.alerted() >= groups, timeout, interval=0.05)
            if not done:
                note(f"searchbot: not every group was alerted within {timeout:.0f} s")
            times = await sighting
            await verifying
            # Let the outbox drain so that late duplicates (a retry after a success) are counted.
            if not await _outbox_drained(world, timeout=20):
                note("searchbot: the outbox did not drain within 20 s after the fan-out")
            calls = fake.calls[start:]
            result = fanout_result(
                calls, t0, groups, refusals(fake, before_429), fake.uploaded_bytes - before_bytes
            )
            confirm_timeline(calls, t0, family.user_id)
            diagnose("searchbot", calls, t0)
            if fake.violations:
                note(f"searchbot: Bot API violations: {fake.violations[:5]}")
    record = result.record("searchbot")
    record["sighting_to_family_s"] = _round(times.family_s)
    record["sighting_to_officer_s"] = _round(times.officer_s)
    return record


async def _outbox_drained(world: World, timeout: float) -> bool:
    """Wait (bounded) until no outbox row is pending or being sent."""
    deadline = time.monotonic() + timeout
    while await pending_count(world.services) > 0:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.1)
    try:  # calls still in flight, and a retry one of them may schedule
        await world.fake.wait_idle(quiet=0.5, timeout=10)
    except AssertionError:
        return False
    return await pending_count(world.services) == 0


# --- part 2: the reference -------------------------------------------------------------------


async def reference_fanout(groups: int, latency: float, retries: int = 0) -> dict[str, Any]:
    """Part 2: python-telegram-bot's AIORateLimiter (defaults: 30/s overall, 20/min per group,
    no retries; or ``retries`` retries of a 429) and one ``asyncio.gather`` of every send; a send
    that raises is lost."""
    async with FakeBotApi(limits=fake_limits(latency)) as fake:
        chats = fake_groups(fake, groups)
        owner = fake.user(PHOTO_OWNER_ID, first_name="Mother", language_code="en")
        photo = fake.send(owner, photo=True).photo_file_id  # a file_id the fake knows
        assert photo is not None
        bot = ExtBot(
            fake.token,
            base_url=fake.base_url,
            base_file_url=fake.file_url,
            rate_limiter=AIORateLimiter(max_retries=retries),
            request=HTTPXRequest(connection_pool_size=64, pool_timeout=30.0),
        )
        # Each send refused with a 429 would log an ERROR with a traceback: hundreds of them.
        # They are counted below as lost alerts instead.
        logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
        timeout = 3 * groups / GLOBAL_PER_SECOND + 30
        async with bot:
            start, before_429, before_bytes = len(fake.calls), refusals(fake), fake.uploaded_bytes
            t0 = time.monotonic()
            sends = [bot.send_photo(chat.chat_id, photo=photo, caption=CAPTION) for chat in chats]
            try:
                outcomes = await asyncio.wait_for(
                    asyncio.gather(*sends, return_exceptions=True), timeout=timeout
                )
            except TimeoutError:
                note(f"reference: the gather did not finish within {timeout:.0f} s")
                outcomes = []
        errors = Counter(type(o).__name__ for o in outcomes if isinstance(o, BaseException))
        if errors:
            note(f"reference: sends that raised: {dict(errors)}")
        calls = fake.calls[start:]
        result = fanout_result(
            calls, t0, groups, refusals(fake, before_429), fake.uploaded_bytes - before_bytes
        )
        diagnose("reference", calls, t0)
    impl = "ptb-AIORateLimiter+gather" + (f" (max_retries={retries})" if retries else "")
    record = result.record(impl)
    record["sighting_to_family_s"] = None
    record["sighting_to_officer_s"] = None
    return record


def comparison(ours: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Reference time to last alert over searchbot's; null when either side left groups without
    an alert (a group that never got it has no time to alert: that side did not finish)."""
    speedup = None
    if ours["lost"] == 0 and reference["lost"] == 0 and ours["last_alert_s"]:
        speedup = round(reference["last_alert_s"] / ours["last_alert_s"], 3)
    return {
        "bench": "fanout-compare",
        "last_alert_speedup": speedup,
        "searchbot_lost": ours["lost"],
        "reference_lost": reference["lost"],
    }


# --- parts 3 and 4: stage selection and memory -----------------------------------------------


async def prepare_selection_db(url: str, count: int) -> None:
    """A fresh database (migrated) with ``count`` approved groups in a square around CENTRE and
    one open case at CENTRE that no group was alerted for."""
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        sessions = db.sessions(engine)
        await seed_groups(sessions, square_points(count, SQUARE_M, random.Random(SEED + 1)))
        now = datetime.now(UTC)
        async with sessions() as session:
            session.add(
                Case(
                    reporter_user_id=FAMILY_ID, reporter_chat_id=FAMILY_ID, language="en",
                    lat=CENTRE[0], lon=CENTRE[1], center_lat=CENTRE[0], center_lon=CENTRE[1],
                    last_seen_at=now, created_at=now, stage=0,
                )
            )  # fmt: skip
            await session.commit()
    finally:
        await engine.dispose()


async def full_scan(
    session: AsyncSession, case: Case, radius_m: float
) -> list[tuple[float, Group]]:
    """The reference selection: every approved group, filtered by geodesic distance in Python
    (no group was alerted for the case, so there is nothing to leave out)."""
    rows = (await session.exec(select(Group).where(Group.status == "approved"))).all()
    centre = (case.center_lat, case.center_lon)
    within = [
        (distance_m(centre, (g.lat, g.lon)), g)
        for g in rows
        if g.lat is not None and g.lon is not None
    ]
    return sorted(((d, g) for d, g in within if d <= radius_m), key=lambda pair: pair[0])


def resident_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def median_p90(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return statistics.median(ordered), p90


async def selection_child(db_path: Path) -> None:
    """Parts 3 and 4, in a process of their own: start the bot on the prepared database, run one
    stage selection, read the memory, then time the selection and the full-scan reference."""
    async with FakeBotApi() as fake:
        settings = world_settings(
            fake, sqlite_url(db_path), SEARCHBOT_ESCALATION=ESCALATION, SEARCHBOT_TICK_SECONDS=5
        )
        async with World(fake, settings) as world:
            gc.freeze()  # as ``searchbot run`` does once the bot is built
            sessions = world.services.sessions
            async with sessions() as session:
                case = (await session.exec(select(Case))).one()
                registered = (
                    await session.exec(
                        select(func.count()).where(col(Group.status) == "approved")  # type: ignore[call-overload]
                    )
                ).one()
            async with sessions() as session:
                selected = len(await groups_within(session, case, SELECTION_RADIUS_M))
            rss = resident_mb()  # the bot is up and has selected over every group once

            ours = []
            for _ in range(SELECTION_REPEATS):
                async with sessions() as session:
                    began = time.perf_counter()
                    await groups_within(session, case, SELECTION_RADIUS_M)
                    ours.append((time.perf_counter() - began) * 1000)
            async with sessions() as session:
                reference_selected = len(await full_scan(session, case, SELECTION_RADIUS_M))
            theirs = []
            for _ in range(REFERENCE_REPEATS):
                async with sessions() as session:
                    began = time.perf_counter()
                    await full_scan(session, case, SELECTION_RADIUS_M)
                    theirs.append((time.perf_counter() - began) * 1000)
    if reference_selected != selected:
        note(
            f"stage selection: groups_within chose {selected} groups, "
            f"the full scan {reference_selected}"
        )
    median, p90 = median_p90(ours)
    reference_median, _ = median_p90(theirs)
    emit(
        {
            "bench": "stage-selection",
            "groups_registered": int(registered),
            "radius_m": SELECTION_RADIUS_M,
            "selected": selected,
            "ms_per_query_median": round(median, 2),
            "ms_per_query_p90": round(p90, 2),
            "reference": "full scan + geodesic over all rows",
            "reference_ms_median": round(reference_median, 2),
            "ratio": round(reference_median / median, 1),
        }
    )
    emit({"bench": "memory", "groups_registered": int(registered), "rss_mb": round(rss, 1)})


def run_selection_child(db_path: Path) -> None:
    """Run parts 3 and 4 in a child process and pass its JSON lines on."""
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--selection-child", str(db_path)],
        stdout=subprocess.PIPE,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    sys.stdout.write(completed.stdout)
    sys.stdout.flush()
    if completed.returncode != 0:
        raise SystemExit(f"the stage-selection child failed with exit code {completed.returncode}")


# --- main ------------------------------------------------------------------------------------


async def fanouts(groups: int, latency: float, workdir: Path) -> None:
    ours = await searchbot_fanout(groups, latency, workdir)
    emit(ours)
    for retries in (0, 3):  # PTB's default, and a reference that retries its 429s
        reference = await reference_fanout(groups, latency, retries)
        emit(reference)
        emit({**comparison(ours, reference), "reference": reference["impl"]})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--groups", type=int, default=600, help="groups in the fan-out")
    parser.add_argument("--latency", type=float, default=0.03, help="fake Bot API latency (s)")
    parser.add_argument(
        "--quick", action="store_true", help="60 groups, 1,000 for stage selection and memory"
    )
    parser.add_argument(
        "--paid",
        action="store_true",
        help="paid broadcast: 5,000 groups (or --groups), paid then free (fanout_paid.py)",
    )
    parser.add_argument("--paid-only", action="store_true", help="with --paid: no free run")
    parser.add_argument("--profile", type=Path, help="with --paid: the paid run's bot, cProfile")
    parser.add_argument(
        "--sighting-after", type=float, default=2.0, help="with --paid: the sighting's time (s)"
    )
    parser.add_argument("--selection-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.paid:
        import fanout_paid  # the bot in its own process, as crowd.py runs it

        groups = args.groups if "--groups" in (argv or sys.argv) else None
        fanout_paid.main(
            groups, args.latency, args.sighting_after, not args.paid_only, args.profile
        )
        return
    if args.selection_child is not None:
        asyncio.run(selection_child(args.selection_child))
        return
    if importlib.util.find_spec("aiolimiter") is None:
        raise SystemExit(
            "the reference needs aiolimiter: install python-telegram-bot[rate-limiter]"
        )
    groups = 60 if args.quick else args.groups
    registered = 1_000 if args.quick else 10_000
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="searchbot-bench-") as tmp:
        workdir = Path(tmp)
        asyncio.run(fanouts(groups, args.latency, workdir))
        selection_db = workdir / "selection.db"
        asyncio.run(prepare_selection_db(sqlite_url(selection_db), registered))
        run_selection_child(selection_db)
    note(f"done in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
