"""The second red team's findings on the command room (issue 24), over HTTP: the page's headers,
a hostile group title before and after approval, what the station's screen may show, and a
screen link's cost to the bot (streams per link, forged tokens, the widest ring's layers).
The hostile title in a real browser is tests/test_red_team_browser.py."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp

from fakegram import FakeChat, FakeUser
from searchbot.rehearsal import CENTRE, offset
from searchbot.web.server import PAGE_HEADERS
from tests.test_command_room import as_officer, base, get, room, search  # noqa: F401
from tests.world import World

HOSTILE = 'Lotus Pond Tea House, East Gate <img src=x onerror="window.sbPwned=1">'
FAMILY_PHONE = "13912345678"
WECHAT = "lotus_mum_88"


# --- 1. the page's headers, and a group's title --------------------------------------------


async def headers_of(world: World, path: str) -> aiohttp.typedefs.LooseHeaders:
    async with aiohttp.ClientSession() as client, client.get(base(world) + path) as response:
        assert response.status == 200, path
        return response.headers


async def test_the_page_and_its_files_are_served_with_the_content_security_policy(
    room: World,  # noqa: F811
) -> None:
    for path in ("/app", "/screen", "/static/room.js", "/static/leaflet/leaflet.js"):
        headers = await headers_of(room, path)
        for name, value in PAGE_HEADERS.items():
            assert headers.get(name) == value, (path, name, headers.get(name))
    assert "script-src 'self'" in PAGE_HEADERS["Content-Security-Policy"]


async def register(
    world: World, group: FakeChat, owner: FakeUser, point: tuple[float, float]
) -> None:
    """The group's owner sends /register and answers with the location."""
    world.fake.send(owner, chat=group, text="/register merchant")
    prompt = await world.fake.wait_for(lambda: world.fake.last(group.chat_id))
    world.fake.send(owner, chat=group, location=point, reply_to=prompt)
    await world.settle()


async def group_titles(world: World, officer: FakeUser, case_id: int) -> list[str]:
    signed = as_officer(world, officer, auth_date=world.clock())  # on the bot's moved clock
    status, body = await get(world, f"/api/cases/{case_id}", signed)
    assert status == 200
    return [group.get("title", "") for group in json.loads(body)["groups"]]


async def test_a_renamed_group_is_shown_whole_to_officers_and_drawn_only_once_approved(
    room: World,  # noqa: F811
) -> None:
    fake = room.fake
    officer = await room.officer()
    point = offset(CENTRE, 100)
    tea = await room.group(-101, "Lotus Pond Tea House", point, officer)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await room.report(family)
    assert any(m.photo_file_id for m in fake.messages(-101))  # alerted
    assert "Lotus Pond Tea House" in await group_titles(room, officer, case_id)

    # /unregister, the cool-down, a new title, /register again
    owner = fake.users[tea.admins[0]]
    fake.send(owner, chat=tea, text="/unregister")
    await room.settle()
    room.clock.advance(timedelta(hours=1, minutes=1))
    tea.title = HOSTILE
    await register(room, tea, owner, point)

    request = room.request_for(officer, -101)
    assert HOSTILE in request.body  # the whole title, as text
    titles = await group_titles(room, officer, case_id)
    assert not any("onerror" in title or "Lotus" in title for title in titles), titles

    await room.taps(officer, request, "Approve: Lotus Pond")
    assert HOSTILE in await group_titles(room, officer, case_id)  # approved: drawn, as text
    assert fake.violations == []
