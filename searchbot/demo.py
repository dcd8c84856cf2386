"""``searchbot demo``: a complete search, played against fakegram, the fake Telegram.

The real bot runs unchanged (HTTP, database, migrations, outbox), pointed at a fake Bot API on
127.0.0.1. A family, a district of groups and an officer play a search from the report to the
closing, and the transcript shows what each of them saw. No token, no network. With
``--stations``: two stations with a border between them, a case whose second ring crosses it,
the neighbour joining, a hand-off and a close.
"""

from __future__ import annotations

import json
import logging
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from fakegram import FakeBotApi, FakeMessage, FakeUser
from searchbot.cases.stations import import_stations
from searchbot.models import Group, GroupRole, Landmark, LandmarkKind
from searchbot.rehearsal import (
    CENTRE,
    World,
    command_room_environment,
    init_data,
    mini_app_link,
    offset,
    world_settings,
)

TITLES = [
    "Tea shop", "Bakery", "Mall security", "Toy store", "Pharmacy", "Metro station guards",
    "Bookshop", "Cinema", "Volunteers (retired teachers)", "Hotel lobby", "Noodle bar",
    "Fruit market", "Bank guards", "Flower shop", "Park volunteers", "Shoe store",
]  # fmt: skip


LABEL = 22
# The old town's named places: ways out for the guards to watch, water for the officers to check.
LANDMARKS = [
    ("East Gate", LandmarkKind.EXIT, 0, 180), ("West Gate", LandmarkKind.EXIT, 0, -220),
    ("Metro Exit 2", LandmarkKind.METRO, 260, 40), ("Lotus Pond", LandmarkKind.WATER, -90, 60),
]  # fmt: skip


def _role(title: str) -> GroupRole:
    lowered = title.lower()
    return GroupRole.GUARD if "guard" in lowered or "security" in lowered else (
        GroupRole.VOLUNTEER if "volunteer" in lowered else GroupRole.MERCHANT)  # fmt: skip


def _line(who: str, text: str) -> None:
    """One transcript line: the speaker's column, cut to fit, then the text."""
    label = who if len(who) <= LABEL else who[: LABEL - 1] + "…"
    print(f"  {label:<{LABEL}}│ {text}")


def _show(who: str, message: FakeMessage) -> None:
    body = message.body or (
        f"📍 pin {message.location[0]:.5f}, {message.location[1]:.5f}" if message.location else ""
    )
    if message.photo_file_id:
        body = "[photo] " + body
    buttons = "  " + " ".join(f"[{t}]" for t in message.button_texts) if message.buttons else ""
    first, *rest = (body + buttons).splitlines() or [""]
    _line(who, first)
    for line in rest:
        _line("", line)


def _section(title: str) -> None:
    print(f"\n── {title} " + "─" * max(0, 70 - len(title)))


class _Transcript:
    """Prints each bot message once, in the order the bot sent them, labelled with who saw it."""

    def __init__(self, fake: FakeBotApi, names: dict[int, str]) -> None:
        self._fake, self._names = fake, names
        self._seen_calls = 0
        self._cursor: dict[int, int] = {}

    def skip(self) -> None:
        """Leave out everything so far."""
        for chat in self._names:
            self._cursor[chat] = len(self._fake.messages(chat, include_deleted=True))
        self._seen_calls = len(self._fake.calls)

    def flush(self) -> None:
        fresh = self._fake.calls[self._seen_calls :]
        self._seen_calls += len(fresh)
        calls = [c for c in fresh if c.ok]
        for call in calls:
            chat = call.params.get("chat_id")
            if chat is None or int(chat) not in self._names:
                continue
            who = self._names[int(chat)]
            if call.method.startswith("send"):
                sent = self._fake.messages(int(chat), include_deleted=True)
                index = self._cursor.get(int(chat), 0)
                if index < len(sent):
                    self._cursor[int(chat)] = index + 1
                    _show(who, sent[index])
            elif call.method == "deleteMessage":
                _line(who, "(alert photo deleted)")


async def run_demo(groups: int = 12) -> int:
    """One station's whole search, with the command room."""
    return await _staged(lambda world, fake, folder: _play(world, fake, groups),
                         **command_room_environment())  # fmt: skip


async def _staged(
    play: Callable[[World, FakeBotApi, Path], Awaitable[None]], **environment: Any
) -> int:
    """A demo on a fresh SQLite file and a fake Telegram that checks every call; 0 if no call
    broke the Bot API's specification."""
    logging.getLogger().setLevel(logging.WARNING)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        async with FakeBotApi(token="123456:DEMO", bot_username="searchbot_demo_bot") as fake:
            settings = world_settings(fake, url, SEARCHBOT_ESCALATION="0:300,2s:1000,1h:2500",
                                      SEARCHBOT_UNVERIFIED_STAGES=2, **environment)  # fmt: skip
            async with World(fake, settings) as world:
                await play(world, fake, Path(folder))
    print(f"\nDemo finished in {time.monotonic() - started:.1f} s. Every Bot API call was checked "
          f"against the Bot API 10.1 specification: {len(fake.violations)} violations.")  # fmt: skip
    return 0 if not fake.violations else 1


async def _play(world: World, fake: FakeBotApi, count: int) -> None:
    """The whole search, act by act; each act prints what every chat saw."""
    names: dict[int, str] = {}
    transcript = _Transcript(fake, names)
    officer = await _the_district(world, fake, names, transcript, count)
    case_id = await _the_report(world, fake, names, transcript, officer)
    await _the_child_found(world, fake, names, transcript, officer, case_id)
    await _the_close(world, fake, names, transcript, officer, case_id)


async def _the_district(
    world: World, fake: FakeBotApi, names: dict[int, str], transcript: _Transcript, count: int
) -> FakeUser:
    """An officer, the groups around the old town, and its landmarks."""
    _section("An officer starts the bot")
    officer = await world.officer()
    names[officer.user_id], names[9000] = "Officer Li (private)", "Admin (private)"
    transcript.flush()

    _section(f"{count} shops, guards and volunteer groups register around the old town")
    for index in range(count):
        chat_id = -1000 - index
        north, east = (index * 137) % 900 - 300, (index * 211) % 1100 - 500
        title = TITLES[index % len(TITLES)]
        names[chat_id] = title
        await world.group(chat_id, title, offset(CENTRE, north, east), officer, _role(title))
    print(f"  ({count} groups registered and approved; requests and approvals not shown)")
    transcript.skip()

    async with world.services.sessions() as session:
        for name, kind, north, east in LANDMARKS:
            lat, lon = offset(CENTRE, north, east)
            session.add(Landmark(name=name, lat=lat, lon=lon, kind=kind))
        await session.commit()
    print(f"  (landmarks: {', '.join(f'{n} ({k})' for n, k, *_ in LANDMARKS)})")
    return officer


async def _the_report(
    world: World,
    fake: FakeBotApi,
    names: dict[int, str],
    transcript: _Transcript,
    officer: FakeUser,
) -> int:
    """A mother reports, the officer verifies, a shopkeeper answers, the ring widens."""
    _section("A mother reports her son missing")
    family = fake.user(5001, first_name="Mother", language_code="en")
    names[family.user_id] = "Mother (private)"
    case_id = await world.report(family)
    transcript.flush()

    _section("An officer checks the report and verifies the case")
    await world.says(officer, f"/verify {case_id}")
    transcript.flush()

    _section("A shopkeeper replies to the alert with a location")
    first_alert = next(
        m for chat in sorted(names) if chat < 0 for m in fake.messages(chat) if m.photo_file_id
    )
    keeper = fake.user(7001, first_name="Mr Wang", language_code="en")
    fake.add_member(fake.chat(first_alert.chat_id), keeper)
    fake.send(keeper, chat=fake.chat(first_alert.chat_id), location=offset(CENTRE, 420, 60),
              reply_to=first_alert)  # fmt: skip
    await world.settle()
    transcript.flush()

    _section("Two seconds later the ring widens to 1 km")
    await fake.wait_for(
        lambda: any("stage 2" in m.body for m in fake.messages(family.user_id)), timeout=10
    )
    await world.settle()
    transcript.flush()
    return case_id


async def _the_child_found(
    world: World,
    fake: FakeBotApi,
    names: dict[int, str],
    transcript: _Transcript,
    officer: FakeUser,
    case_id: int,
) -> None:
    """A guard finds the boy; the officer matches him and ticks the handover checklist."""
    _section("A guard finds a boy alone at the metro exit and reports him")
    guard_chat = next(chat for chat in sorted(names, reverse=True)
                      if chat < 0 and _role(names[chat]) == GroupRole.GUARD)  # fmt: skip
    guard = fake.user(7002, first_name="Guard Zhang", language_code="en")
    names[guard.user_id] = "Guard Zhang (private)"
    fake.add_member(fake.chat(guard_chat), guard)
    fake.send(guard, chat=fake.chat(guard_chat), text="/found")
    await world.settle()
    await world.found_child(guard, offset(CENTRE, 150, 0), group_chat_id=guard_chat)
    await world.settle()
    transcript.flush()

    _section("The officer matches him to the report; the mother is sent to him")
    card = next(m for m in fake.messages(officer.user_id) if "CHILD FOUND ALONE" in m.body)
    await world.taps(officer, card, f"Match #{case_id}")
    transcript.flush()

    _section("The handover checklist")
    for check in ("recognises", "ID checked", "photo of them together"):
        last = fake.last(officer.user_id)
        assert last is not None
        await world.taps(officer, last, check)
    transcript.flush()


async def _the_close(
    world: World,
    fake: FakeBotApi,
    names: dict[int, str],
    transcript: _Transcript,
    officer: FakeUser,
    case_id: int,
) -> None:
    """The command room's links, then the close: every alert photo leaves the groups."""
    _section("The command room: the live map behind the card's 🗺 Map button, and /screen")
    app_url = f"{world.settings.web_url}/app?case={case_id}"
    _line("Mini App link", mini_app_link(app_url, init_data(fake.token, officer)))
    await world.says(officer, "/screen")
    transcript.flush()
    print("  (both links work in a browser while the demo runs; the demo's server stops with it)")

    _section("The officer closes the case: found")
    await world.says(officer, f"/close {case_id} found at the metro exit")
    await world.settle()
    transcript.flush()
    left = sum(1 for chat in names if chat < 0 for m in fake.messages(chat) if m.photo_file_id)
    print(
        textwrap.dedent(f"""
        Alert photos left in groups after closing: {left}.
        Photos uploaded to Telegram: {fake.upload_count} (alerts re-send the family's photo by file id).""")
    )


# --- two stations ------------------------------------------------------------------------------

BORDER_EAST_M = 475  # The Bund begins this far east of CENTRE (docs/stations.example.geojson)
WEST, EAST = ("Nanjing Road", -100201, 9101), ("The Bund", -100202, 9201)


def _district_file(folder: Path) -> Path:
    """The two neighbouring stations of docs/stations.example.geojson."""
    west_lon, border, east_lon, south, north = 121.45, 121.4787, 121.51, 31.21, 31.25
    features = []
    for (name, chat, chief), (left, right) in zip(
        (WEST, EAST), ((west_lon, border), (border, east_lon)), strict=True
    ):
        ring = [[left, south], [right, south], [right, north], [left, north], [left, south]]
        features.append({
            "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": name, "officer_chat_id": chat, "admin_ids": [chief],
                           "language": "en"},
        })  # fmt: skip
    path = folder / "stations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


async def run_stations_demo(groups: int = 12) -> int:
    """Two stations with a border between them; a case whose second ring crosses it, the
    neighbour joins, the case is handed over and closed."""

    async def play(world: World, fake: FakeBotApi, folder: Path) -> None:
        await import_stations(world.services.sessions, _district_file(folder), world.clock())
        await _play_stations(world, fake, groups)

    return await _staged(play)


async def _play_stations(world: World, fake: FakeBotApi, count: int) -> None:
    names: dict[int, str] = {}
    transcript = _Transcript(fake, names)
    _section("Two stations imported from a GeoJSON file: searchbot stations import")
    admin = fake.user(9000, first_name="Admin", language_code="en")
    _show("Admin (private)", await world.says(admin, "/stations"))
    chiefs = {}
    for name, chat, chief_id in (WEST, EAST):
        fake.group(chat_id=chat, title=f"{name} desk", admins=[chief_id])
        names[chat] = f"{name} desk"
        chiefs[name] = fake.user(chief_id, first_name=f"Chief of {name}", language_code="en")
        await world.says(chiefs[name], "/start")
    _section(f"{count} groups on both sides of the border; each station approves its own")
    points = {}
    for index in range(count):
        chat_id, title = -1000 - index, TITLES[index % len(TITLES)]
        east = index % 2 == 1
        points[chat_id] = offset(
            CENTRE, (index * 137) % 600 - 300, 650 + index * 20 if east else -100
        )
        names[chat_id] = f"{title} ({'Bund' if east else 'Nanjing Rd'})"
    for chat_id in (-1000, -1001):  # one each through the chat; the desks pace their news
        chief = chiefs[EAST[0] if chat_id == -1001 else WEST[0]]
        title = TITLES[-chat_id - 1000]
        await world.group(chat_id, title, points[chat_id], chief, _role(title))
    rest = [chat_id for chat_id in points if chat_id < -1001]
    await world.seed_groups([points[c] for c in rest], rest[0] if rest else -1002)
    async with world.services.sessions() as session:  # seeded rows: their stations
        directory = await world.services.officers.directory(session)
        for group in (await session.exec(select(Group).where(col(Group.chat_id).in_(rest)))).all():
            station = directory.locate(group.lat or 0, group.lon or 0)
            group.station_id = station.id if station else None
            session.add(group)
        await session.commit()
    print(f"  (2 groups registered through the chat, {len(rest)} more approved directly)")
    transcript.skip()
    await _stations_search(world, fake, names, transcript, chiefs)


async def _stations_search(
    world: World,
    fake: FakeBotApi,
    names: dict[int, str],
    transcript: _Transcript,
    chiefs: dict[str, FakeUser],
) -> None:
    west, east = chiefs[WEST[0]], chiefs[EAST[0]]
    _section("A mother reports near Nanjing Road: its station owns the case")
    family = fake.user(5001, first_name="Mother", language_code="en")
    names[family.user_id] = "Mother (private)"
    case_id = await world.report(family)
    await world.says(west, f"/verify {case_id}")
    transcript.flush()
    _section("Two seconds later the second ring (1 km) crosses into The Bund")
    await fake.wait_for(lambda: bool(_join_notice(fake, case_id)), timeout=10)
    await world.settle()
    transcript.flush()
    _section("The Bund's officers join; a shop on their side reports a sighting")
    await world.taps(east, _join_notice(fake, case_id)[0], "🤝 Join")
    shops = [chat for chat in sorted(names) if -2000 < chat <= -1000]  # not the desks
    alert = next(m for chat in shops if "Bund" in names[chat]
                 for m in fake.messages(chat) if m.photo_file_id)  # fmt: skip
    keeper = fake.user(7001, first_name="Mr Chen", language_code="en")
    fake.add_member(fake.chat(alert.chat_id), keeper)
    fake.send(keeper, chat=fake.chat(alert.chat_id), location=offset(CENTRE, 50, 700),
              reply_to=alert)  # fmt: skip
    await world.settle()
    transcript.flush()
    _section("Nanjing Road hands the case over to The Bund")
    await world.says(west, f"/handover {case_id} The Bund")
    await world.settle()
    transcript.flush()
    refused = await world.says(west, f"/close {case_id} found")
    _line("Chief of Nanjing Road", f"/close {case_id} found → {refused.body}")
    _section("The Bund closes the case: every alert photo leaves both stations' groups")
    fake.send(east, chat=fake.chat(EAST[1]), text=f"/close {case_id} found at the Bund")
    await world.settle()
    transcript.flush()
    left = sum(1 for chat in shops for m in fake.messages(chat) if m.photo_file_id)
    print(f"\n  Alert photos left in groups after closing: {left}.")


def _join_notice(fake: FakeBotApi, case_id: int) -> list[FakeMessage]:
    return [m for m in fake.messages(EAST[1]) if "🤝 Join" in m.button_texts
            and f"#{case_id}" in m.body]  # fmt: skip
