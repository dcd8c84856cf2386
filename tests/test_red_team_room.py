"""The second red team's findings on the command room (issue 24), over HTTP: the page's headers,
a hostile group title before and after approval, what the station's screen may show, and a
screen link's cost to the bot (streams per link, forged tokens, the widest ring's layers).
The hostile title in a real browser is tests/test_red_team_browser.py."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp

from fakegram import FakeChat, FakeUser
from searchbot.rehearsal import CENTRE, offset
from searchbot.web import auth
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


# --- 2. what the station's screen shows ------------------------------------------------------


async def report_with_contacts(world: World, family: FakeUser) -> int:
    """A report whose description and venue carry the family's phone and WeChat id."""
    fake = world.fake
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Qiaoqiao")
    sex = await world.says(family, "6", asks="Boy")
    await world.taps(family, sex, "Boy")
    await world.says(family, f"red coat, call me on {FAMILY_PHONE}")
    venue = (*CENTRE, f"Lotus Pond, WeChat {WECHAT}", "East Gate")
    when = await world.says(family, venue=venue, asks="Just now")
    await world.taps(family, when, "Just now")
    summary = await world.says(family, FAMILY_PHONE, asks="Confirm")
    before = len(fake.messages(family.user_id))
    await world.taps(family, summary, "Confirm")
    done = next(m for m in fake.messages(family.user_id)[before:] if "is open" in m.body)
    return int(done.body.split("#")[1].split()[0])


async def test_the_screen_shows_the_public_card_in_its_language_without_contact_details(
    room: World,  # noqa: F811
) -> None:
    officer = await room.officer()
    await room.seed_groups([offset(CENTRE, 150)])
    case_id = await report_with_contacts(room, room.fake.user(5001, first_name="Mother"))
    for lang, marker in (("en", "[contact removed]"), ("zh", "[联系方式已删除]")):
        token, _ = await auth.screen_token(room.services, lang)
        screen = {"X-Screen-Token": token}
        (_, listed), (_, one) = await asyncio.gather(
            get(room, "/api/cases", screen), get(room, f"/api/cases/{case_id}", screen)
        )
        for body in (listed, one):
            text = body.decode()
            assert FAMILY_PHONE not in text and WECHAT not in text, (lang, text[:400])
        case = json.loads(one)
        assert marker in case["card"] and "red coat" in case["card"]
        assert marker in json.loads(listed)["cases"][0]["place"]
        # role markers, no titles: the screen is no map of who helps and where by name
        assert case["groups"] and all(not g.get("title") for g in case["groups"])
        assert {g["role"] for g in case["groups"]} == {"merchant"}
    status, body = await get(room, f"/api/cases/{case_id}", as_officer(room, officer))
    assert FAMILY_PHONE in json.loads(body)["card"]  # officers read it as typed
