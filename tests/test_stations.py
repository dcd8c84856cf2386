"""Several stations over HTTP: roles (a station's administrators appoint its officers in its
officers' group), routing (a group's request and a family's report go to the station whose
area holds the place; outside every area a report is refused)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import select

from fakegram import FakeBotApi
from searchbot.models import Case, Group, GroupStatus
from searchbot.web.events import POLL_SECONDS
from searchbot.words.texts import say
from tests.stations_district import (
    DEEP_EAST,
    EAST_CHIEF,
    EAST_DESK,
    OUTSIDE,
    WEST_DESK,
    district,
    texts,
)
from tests.test_permissions import OFFICERS_ONLY, press, send
from tests.world import ADMIN_ID, CENTRE, World


async def test_station_administrators_appoint_their_own_officers(
    world: World, fake: FakeBotApi
) -> None:
    d = await district(world, fake)
    officer = fake.user(9111, first_name="Officer Wu", language_code="en")
    await world.says(officer, "/start")
    assert (await send(world, officer, "/cases")).says(OFFICERS_ONLY)

    added = await send(world, d.west_chief, "/officer add 9111", chat=d.west_desk)
    assert added.says(say("en", "station_officer_added", user_id=9111, station="Nanjing Road"))
    assert not (await send(world, officer, "/cases")).refused()
    # another station's chief, in this desk; a station chief in private: not theirs to do
    refused = await send(world, d.east_chief, "/officer add 9112", chat=d.west_desk)
    assert refused.says(say("en", "admins_only"))
    assert (await send(world, d.west_chief, "/officer add 9113")).says(say("en", "admins_only"))
    # a city administrator acts in every station: the same officer serves The Bund too
    admin = fake.user(ADMIN_ID, first_name="Admin", language_code="en")
    also = await send(world, admin, "/officer add 9111", chat=d.east_desk)
    assert also.says(say("en", "station_officer_added", user_id=9111, station="The Bund"))
    removed = await send(world, d.west_chief, "/officer remove 9111", chat=d.west_desk)
    assert removed.says(say("en", "station_officer_removed", user_id=9111, station="Nanjing Road"))
    assert not (await send(world, officer, "/cases")).refused()  # still The Bund's
    await send(world, admin, "/officer remove 9111", chat=d.east_desk)
    assert (await send(world, officer, "/cases")).says(OFFICERS_ONLY)
    assert fake.violations == []


async def test_a_request_reaches_only_its_station_and_a_forged_approve_changes_nothing(
    world: World, fake: FakeBotApi
) -> None:
    d = await district(world, fake)
    shop = await world.group(-101, "Tea shop", CENTRE, None)
    await world.settle()
    assert any("Tea shop" in t for t in texts(fake, WEST_DESK))
    assert not any("Tea shop" in t for t in texts(fake, EAST_DESK))
    assert not any("Tea shop" in t for t in texts(fake, EAST_CHIEF))
    heard = await press(world, d.east_chief, f"ap:{shop.chat_id}")
    assert heard.refused(), str(heard)
    async with world.services.sessions() as session:
        group = (await session.exec(select(Group).where(Group.chat_id == -101))).one()
        assert group.status == GroupStatus.PENDING and group.station_id is not None
    request = world.request_for(d.west_chief, shop.chat_id)
    await world.taps(d.west_chief, request, "Approve: Tea shop")
    async with world.services.sessions() as session:
        group = (await session.exec(select(Group).where(Group.chat_id == -101))).one()
        assert group.status == GroupStatus.APPROVED
    assert fake.violations == []


async def test_a_report_goes_to_the_station_holding_the_last_seen_place(
    world: World, fake: FakeBotApi
) -> None:
    d = await district(world, fake)
    west_case = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    east_case = await world.report(
        fake.user(5002, first_name="Father", language_code="en"), DEEP_EAST
    )
    await world.settle()

    def cards(chat: int, case: int) -> list[str]:
        return [t for t in texts(fake, chat) if f"#{case}" in t]

    assert cards(WEST_DESK, west_case) and not cards(EAST_DESK, west_case)
    assert cards(EAST_DESK, east_case) and not cards(WEST_DESK, east_case)
    west_list = await send(world, d.west_chief, "/cases")
    assert f"#{west_case}" in west_list.texts[0] and f"#{east_case}" not in west_list.texts[0]
    refused = await send(world, d.west_chief, f"/verify {east_case}")
    assert refused.says(say("en", "not_your_station", ref=f"#{east_case}"))
    stats = await send(world, d.west_chief, "/stats")
    assert any("Cases: 1 open" in t for t in stats.texts), stats.texts  # its station's only
    admin_stats = await send(world, fake.user(ADMIN_ID, first_name="Admin"), "/stats")
    assert any("Cases: 2 open" in t for t in admin_stats.texts)
    async with world.services.sessions() as session:
        owners = {c.id: c.station_id for c in (await session.exec(select(Case))).all()}
    assert owners[west_case] != owners[east_case] and None not in owners.values()
    assert fake.violations == []


async def test_a_report_outside_every_station_is_refused(world: World, fake: FakeBotApi) -> None:
    await district(world, fake)
    family = fake.user(5003, first_name="Aunt", language_code="en")
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Xiao Hong")
    sex = await world.says(family, "5", asks="Boy")
    await world.taps(family, sex, "Girl")
    await world.says(family, "yellow dress")
    answer = await world.says(family, location=OUTSIDE)
    assert say("en", "place_outside") in answer.body


async def test_the_command_room_and_screens_are_per_station(
    fake: FakeBotApi, database_url: str
) -> None:
    """The Mini App's list and a /screen link from a station's officers' group show that
    station's cases only; another station's case is not found for them."""
    import json
    import re

    import aiohttp

    from searchbot.rehearsal import command_room_environment, init_data
    from tests.world import world_settings

    settings = world_settings(fake, database_url, **command_room_environment())
    async with World(fake, settings) as world:
        d = await district(world, fake)
        west = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
        east = await world.report(fake.user(5002, first_name="Father", language_code="en"),
                                  DEEP_EAST)  # fmt: skip
        base = world.settings.web_url or ""

        async def get(path: str, headers: dict[str, str]) -> tuple[int, Any]:
            async with aiohttp.ClientSession() as client, client.get(base + path,
                                                                     headers=headers) as r:  # fmt: skip
                return r.status, (json.loads(await r.read()) if r.status == 200 else None)

        chief = {"X-Telegram-Init-Data": init_data(fake.token, d.west_chief)}
        status, listing = await get("/api/cases", chief)
        assert status == 200 and [c["id"] for c in listing["cases"]] == [west]
        status, _ = await get(f"/api/cases/{east}", chief)
        assert status == 404
        link = await send(world, d.east_chief, "/screen", chat=d.east_desk)
        match = re.search(r"/screen\?token=(\S+)", " ".join(link.texts))
        assert match, link.texts
        status, listing = await get("/api/cases", {"X-Screen-Token": match.group(1)})
        assert status == 200 and [c["id"] for c in listing["cases"]] == [east]

        # the live stream names the west station's cases to its chief, never the east's
        async with (
            aiohttp.ClientSession() as client,
            client.get(base + "/api/events", headers=chief) as stream,
        ):

            async def block() -> str:
                return (await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 15)).decode()

            assert (await block()).startswith("event: hello")

            async def until(case: int) -> list[str]:
                seen = [await block()]
                while f'{{"case": {case}}}' not in seen[-1]:
                    seen.append(await block())
                return seen

            # once the watcher reads the log: a change in the east case, then one in the west
            await send(world, d.west_chief, f"/verify {west}")
            await until(west)
            await send(world, d.east_chief, f"/verify {east}")
            await asyncio.sleep(2 * POLL_SECONDS)  # read by the watcher before the next change
            await send(world, d.west_chief, f"/escalate {west}")
            seen = await until(west)
            assert not any(f'{{"case": {east}}}' in event for event in seen), seen
