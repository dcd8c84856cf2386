"""The command room's server and chat side: who may look (Telegram init data, screen links),
what the screen may never show, the Mini App button and menu, and the /map picture."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from fakegram import FakeBotApi, FakeUser
from searchbot.rehearsal import (
    CENTRE,
    command_room_environment,
    init_data,
    offset,
)
from searchbot.web import auth
from tests.world import World, world_settings

pytestmark = pytest.mark.mini_app

PHONE = "13800138000"
FAMILY_ID, FAMILY_NAME = 777000123, "Zhang Meiling"
STRANGER_ID = 777000456


@pytest.fixture
async def room(fake: FakeBotApi, database_url: str) -> AsyncIterator[World]:
    settings = world_settings(fake, database_url, **command_room_environment())
    async with World(fake, settings) as running:
        yield running


async def search(world: World) -> tuple[FakeUser, FakeUser, int]:
    """An officer, a family, four groups around the last-seen place and one far away, and an
    open case."""
    officer = await world.officer()
    await world.seed_groups(
        [
            offset(CENTRE, 150),
            offset(CENTRE, -200, 100),
            offset(CENTRE, 700),
            offset(CENTRE, 0, 2000),
            offset(CENTRE, 8000),  # beyond the widest ring: not on the map
        ]
    )
    family = world.fake.user(FAMILY_ID, first_name=FAMILY_NAME, language_code="en")
    case_id = await world.report(family)
    return officer, family, case_id


def base(world: World) -> str:
    url = world.settings.web_url
    assert url is not None
    return url


async def get(world: World, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(base(world) + path, headers=headers or {}) as response,
    ):
        return response.status, await response.read()


async def post(
    world: World, path: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as client,
        client.post(base(world) + path, headers=headers, json=body or {}) as response,
    ):
        return response.status, await response.read()


def as_officer(world: World, user: FakeUser, **kwargs: Any) -> dict[str, str]:
    return {"X-Telegram-Init-Data": init_data(world.fake.token, user, **kwargs)}


async def test_init_data_is_checked_signature_age_and_officer(room: World) -> None:
    officer, family, case_id = await search(room)
    path = f"/api/cases/{case_id}"
    status, body = await get(room, path, as_officer(room, officer))
    assert status == 200
    layers = json.loads(body)
    assert layers["id"] == case_id and layers["can_act"] is True
    assert PHONE in layers["card"]  # officers see the card as the chat shows it

    forged = {"X-Telegram-Init-Data": init_data("654321:OTHER", officer)}
    stale = as_officer(room, officer, auth_date=datetime.now(UTC) - timedelta(hours=2))
    tampered = as_officer(room, officer).copy()
    tampered["X-Telegram-Init-Data"] = tampered["X-Telegram-Init-Data"].replace(
        str(officer.user_id), str(STRANGER_ID)
    )
    for headers in (forged, stale, tampered, {}, {"X-Telegram-Init-Data": "garbage"}):
        for url in (path, "/api/cases", "/api/events", "/api/me"):
            assert await get(room, url, headers) == (401, b""), (headers, url)
    assert await post(room, f"{path}/verify", forged) == (401, b"")

    not_officer = as_officer(room, family)
    for url in (path, "/api/cases", "/api/events", "/api/me"):
        assert await get(room, url, not_officer) == (403, b"")
    assert await post(room, f"{path}/verify", not_officer) == (403, b"")
    assert await post(room, f"{path}/close", not_officer, {"outcome": "found"}) == (403, b"")
    async with room.services.sessions() as session:
        from searchbot.models import Case

        case = await session.get(Case, case_id)
        assert case is not None and case.verified_at is None and case.status == "open"

    # an officer removed since the page opened loses it at the next call
    admin = room.fake.user(9000, first_name="Admin", language_code="en")
    await room.says(admin, f"/officer remove {officer.user_id}")
    assert await get(room, path, as_officer(room, officer)) == (403, b"")


async def test_screen_link_is_read_only_without_personal_fields(room: World) -> None:
    officer, _family, case_id = await search(room)
    answer = await room.says(officer, "/screen")
    match = re.search(r"(http://\S+/screen\?token=(\S+))", answer.body)
    assert match, answer.body
    token = match.group(2)
    screen = {"X-Screen-Token": token}

    # a sighting with a phone and a name in it, so there is something to leak
    sighter = room.fake.user(777000789, first_name="Wang Witness", language_code="en")
    await room.says(sighter, f"/seen {case_id}")
    await room.says(sighter, location=offset(CENTRE, 120, 40))
    await room.settle()

    responses = []
    for url in ("/api/me", "/api/cases", f"/api/cases/{case_id}"):
        status, body = await get(room, url, screen)
        assert status == 200, url
        responses.append(body)
    status, body = await get(room, f"/api/cases/{case_id}?token={token}")
    assert status == 200
    responses.append(body)
    responses.append(await first_event_bytes(room, screen))
    layers = json.loads(responses[2])
    assert layers["can_act"] is False and layers["groups"] and layers["rings"]
    for body in responses:
        text = body.decode()
        for secret in (
            PHONE,
            FAMILY_NAME,
            str(FAMILY_ID),
            "Xiao Ming",
            "Wang Witness",
            "777000789",
        ):
            assert secret not in text, (secret, text[:300])

    for action in ("verify", "escalate"):
        assert await post(room, f"/api/cases/{case_id}/{action}", screen) == (403, b"")

    # expired: a link given 13 hours ago
    past = replace(room.services, clock=lambda: datetime.now(UTC) - timedelta(hours=13))
    old, _ = await auth.screen_token(past, "en")
    assert await get(room, f"/api/cases/{case_id}", {"X-Screen-Token": old}) == (403, b"")
    # forged: a signature made up
    body, _, _ = token.partition(".")
    assert await get(room, "/api/cases", {"X-Screen-Token": body + ".AAAA"}) == (401, b"")

    revoked = await room.says(officer, "/screen revoke")
    assert "stopped working" in revoked.body
    assert await get(room, f"/api/cases/{case_id}", screen) == (403, b"")
    assert await get(room, "/api/cases", screen) == (403, b"")
    fresh = re.search(r"token=(\S+)", (await room.says(officer, "/screen")).body)
    assert fresh and (await get(room, "/api/cases", {"X-Screen-Token": fresh.group(1)}))[0] == 200


async def first_event_bytes(world: World, headers: dict[str, str]) -> bytes:
    """The start of the event stream (it never ends by itself)."""
    async with (
        aiohttp.ClientSession() as client,
        client.get(base(world) + "/api/events", headers=headers) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        return await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)


async def test_screen_is_for_officers_only(room: World) -> None:
    stranger = room.fake.user(STRANGER_ID, first_name="Stranger", language_code="en")
    answer = await room.says(stranger, "/screen")
    assert "token=" not in answer.body


async def test_the_card_has_a_mini_app_button_in_private_chats_only(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(
        fake, database_url, SEARCHBOT_OFFICER_CHAT_ID=-777, **command_room_environment()
    )
    fake.group(chat_id=-777, title="Officers", admins=[])
    async with World(fake, settings) as world:
        officer, _family, case_id = await search(world)
        card = next(
            m for m in fake.messages(officer.user_id) if f"#{case_id}" in m.body and m.buttons
        )
        app_button = next(b for row in card.buttons for b in row if "web_app" in b)
        assert app_button["web_app"]["url"] == f"{base(world)}/app?case={case_id}"
        group_card = next(m for m in fake.messages(-777) if f"#{case_id}" in m.body and m.buttons)
        assert all("web_app" not in b for row in group_card.buttons for b in row)
        assert any("Map picture" in t for t in group_card.button_texts)
        menu = await bot_api(fake, "getChatMenuButton", {"chat_id": officer.user_id})
        assert menu and menu["type"] == "web_app" and menu["web_app"]["url"] == f"{base(world)}/app"
        assert not fake.violations


async def test_the_fake_refuses_mini_app_buttons_outside_private_chats(fake: FakeBotApi) -> None:
    fake.group(chat_id=-4242, title="Shop", admins=[])
    markup = {"inline_keyboard": [[{"text": "Map", "web_app": {"url": "https://example.org/app"}}]]}
    payload = {"chat_id": -4242, "text": "x", "reply_markup": markup}
    answer = await bot_api(fake, "sendMessage", payload, result=False)
    assert answer["ok"] is False and "BUTTON_TYPE_INVALID" in answer["description"]
    user = fake.user(4243, first_name="Li", language_code="en")
    fake.send(user, text="/start")  # so the bot's private chat with Li exists
    sent = await bot_api(fake, "sendMessage", {**payload, "chat_id": 4243}, result=False)
    assert sent["ok"] is True
    http = {"inline_keyboard": [[{"text": "Map", "web_app": {"url": "http://example.org/"}}]]}
    refused = await bot_api(
        fake, "sendMessage", {**payload, "chat_id": 4243, "reply_markup": http}, result=False
    )
    assert refused["ok"] is False and "BUTTON_URL_INVALID" in refused["description"]


async def bot_api(
    fake: FakeBotApi, method: str, payload: dict[str, Any], result: bool = True
) -> Any:
    """Call the fake Bot API as a bot would."""
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{fake.base_url}{fake.token}/{method}", json=payload) as response,
    ):
        answer = await response.json()
    return answer["result"] if result else answer


async def test_map_sends_a_png_of_the_search(room: World) -> None:
    officer, _family, case_id = await search(room)
    answer = await room.says(officer, f"/map {case_id}")
    assert answer.photo_file_id, answer.body
    stored = room.fake.files[answer.photo_file_id]
    assert stored.data is not None
    width, height = png_size(stored.data)
    assert (width, height) == (900, 900)
    assert 20_000 < len(stored.data) < 2_000_000
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(stored.data), format="png")
    assert pixels.shape[:2] == (900, 900) and pixels.std() > 0.05  # something is drawn

    family = room.fake.user(FAMILY_ID, first_name=FAMILY_NAME, language_code="en")
    refused = await room.says(family, f"/map {case_id}")
    assert not refused.photo_file_id

    # the card's button sends the same picture
    card = next(
        m for m in room.fake.messages(officer.user_id) if "Map picture" in str(m.button_texts)
    )
    pressed = await room.taps(officer, card, "Map picture")
    assert (
        pressed is not None
        and pressed.photo_file_id
        and pressed.photo_file_id != answer.photo_file_id
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def test_chinese_officers_get_the_page_in_chinese(room: World) -> None:
    officer, _family, case_id = await search(room)
    chinese = replace(officer, language_code="zh-hans")
    status, body = await get(room, "/api/me", as_officer(room, chinese))
    assert status == 200 and json.loads(body)["language"] == "zh"
    status, body = await get(room, f"/api/cases/{case_id}", as_officer(room, chinese))
    assert "圈" in json.loads(body)["status_line"]
    texts = json.loads((await get(room, "/api/texts?lang=zh"))[1])
    assert texts["room_state_checked"] == "已查看未发现"


async def test_one_port_serves_the_room_health_and_metrics(
    fake: FakeBotApi, database_url: str
) -> None:
    environment = command_room_environment()
    environment["SEARCHBOT_METRICS_LISTEN"] = environment["SEARCHBOT_WEB_LISTEN"]
    settings = world_settings(fake, database_url, **environment)
    async with World(fake, settings) as world:
        assert world.runtime.operations is None and world.runtime.command_room is not None
        assert await get(world, "/healthz") == (200, b"ok leader\n")
        status, body = await get(world, "/metrics")
        assert status == 200 and b"searchbot_open_cases" in body
        assert (await get(world, "/app"))[0] == 200
        assert (await get(world, "/static/leaflet/leaflet.js"))[0] == 200


async def test_the_server_stops_with_an_event_stream_open(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, **command_room_environment())
    world = World(fake, settings)
    await world.__aenter__()
    try:
        officer = await world.officer()
        async with (
            aiohttp.ClientSession() as client,
            client.get(base(world) + "/api/events", headers=as_officer(world, officer)) as stream,
        ):
            assert await stream.content.readuntil(b"\n\n") == b"event: hello\ndata: {}\n\n"
            stopping = asyncio.create_task(world.__aexit__(None, None, None))
            await asyncio.wait_for(stream.content.read(), 10)  # the server ends the stream
            await asyncio.wait_for(stopping, 30)
    finally:
        if world.runtime.application.running:
            await world.__aexit__(None, None, None)
