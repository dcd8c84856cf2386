"""The second red team's findings on the command room (issue 24), over HTTP: the page's headers,
a hostile group title before and after approval, what the station's screen may show, and a
screen link's cost to the bot (streams per link, forged tokens, the widest ring's layers).
The hostile title in a real browser is tests/test_red_team_browser.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import h3
import pytest
from sqlalchemy import event, func
from sqlmodel import select

from fakegram import FakeChat, FakeUser
from searchbot.models import ScreenKey
from searchbot.rehearsal import CENTRE, offset
from searchbot.web import auth
from searchbot.web.server import PAGE_HEADERS
from tests.test_command_room import as_officer, base, get, room, search  # noqa: F401
from tests.world import World

pytestmark = pytest.mark.mini_app

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


# --- 8. what one screen link may cost the bot ------------------------------------------------


@contextlib.asynccontextmanager
async def stream(
    client: aiohttp.ClientSession, world: World, headers: dict[str, str]
) -> AsyncIterator[int]:
    """An event stream held open; yields its status (the first event read when 200)."""
    async with client.get(base(world) + "/api/events", headers=headers) as response:
        if response.status == 200:
            await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        yield response.status


async def test_a_screen_link_opens_a_few_event_streams_and_no_more(
    room: World,  # noqa: F811
) -> None:
    officer = await room.officer()
    token, _ = await auth.screen_token(room.services, "en")
    other, _ = await auth.screen_token(room.services, "zh")  # another link (same second)
    screen = {"X-Screen-Token": token}
    async with contextlib.AsyncExitStack() as held, aiohttp.ClientSession() as client:
        opened = [await held.enter_async_context(stream(client, room, screen)) for _ in range(4)]
        assert opened == [200] * 4
        async with stream(client, room, screen) as fifth:
            assert fifth == 429
        async with stream(client, room, {"X-Screen-Token": other}) as another_link:
            assert another_link == 200
        mine = as_officer(room, officer)
        officer_streams = [await held.enter_async_context(stream(client, room, mine))
                           for _ in range(4)]  # fmt: skip
        assert officer_streams == [200] * 4
        async with stream(client, room, as_officer(room, officer)) as fifth_of_the_officer:
            assert fifth_of_the_officer == 429


@contextlib.contextmanager
def statements_on(world: World, table: str) -> Iterator[list[str]]:
    """Every SQL statement the bot runs on ``table`` meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if table in statement:
            seen.append(statement)

    engine = world.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def forged_tokens() -> list[str]:
    claims = {"e": int(time.time()) + 3600, "g": 1, "l": "en"}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return [body + ".AAAA", body + "." + "A" * 43, body, "garbage", "." * 8]


async def test_a_forged_screen_token_is_refused_before_the_database(
    room: World,  # noqa: F811
) -> None:
    with statements_on(room, "screen_keys") as statements:
        for token in forged_tokens():
            for path in ("/api/cases", "/api/events", f"/api/cases/1?token={token}"):
                headers = {} if "token=" in path else {"X-Screen-Token": token}
                assert await get(room, path, headers) == (401, b""), (token, path)
    assert statements == []
    async with room.services.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(ScreenKey))).one() == 0


async def test_the_widest_ring_answers_from_one_computation_and_follows_a_new_group(
    room: World,  # noqa: F811
) -> None:
    officer, _family, case_id = await search(room)
    await room.says(officer, f"/verify {case_id}")
    for _ in range(2):
        await room.says(officer, f"/escalate {case_id}")
    token, _ = await auth.screen_token(room.services, "en")
    path = f"/api/cases/{case_id}"
    answers = await asyncio.gather(
        *(get(room, path, as_officer(room, officer)) for _ in range(3)),
        *(get(room, path, {"X-Screen-Token": token}) for _ in range(3)),
    )
    spots = [json.loads(body)["blind_spots"] for status, body in answers if status == 200]
    assert len(spots) == 6 and all(s == spots[0] for s in spots) and len(spots[0]) > 100
    assert json.loads(answers[0][1])["stage"] == 3

    # a group approved in a blind cell: the next answer no longer counts that cell blind
    cell = spots[0][0]["cell"]
    await room.seed_groups([h3.cell_to_latlng(cell)], first_chat_id=-6000)
    status, body = await get(room, path, {"X-Screen-Token": token})
    fresh = [spot["cell"] for spot in json.loads(body)["blind_spots"]]
    assert status == 200 and cell not in fresh and fresh
