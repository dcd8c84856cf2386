"""Issue 24, finding 1, in a real browser (Debian's headless chromium through playwright): a
group whose title carries markup, a family's words and a sighter's place with markup too. The
officer's Mini App and the station's screen draw them as text: hovered and tapped, nothing runs,
and the page is served with its Content-Security-Policy.

Skipped where /usr/bin/chromium is missing (``.ci/run`` installs it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from searchbot.models import Group, GroupStatus
from searchbot.rehearsal import CENTRE, init_data, mini_app_link, offset
from searchbot.web import auth
from tests.test_command_room import room  # noqa: F401  (the fixture)
from tests.test_command_room_browser import CHROMIUM, browser  # noqa: F401  (the fixture)
from tests.world import World

PAYLOAD = "window.sbPwned=(window.sbPwned||0)+1"
TITLE = f'Lotus Pond Tea House, East Gate <img src=x onerror="{PAYLOAD}">'
WORDS = f'red coat <img src=x onerror="{PAYLOAD}"><script>{PAYLOAD}</script>'
PLACE = f'by the fountain <svg onload="{PAYLOAD}">'

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
    pytest.mark.mini_app,
]


async def hostile_search(world: World) -> tuple[Any, int]:
    """An approved group with a hostile title next to the last-seen place, a report whose
    description carries markup, and a sighting whose place does."""
    officer = await world.officer()
    (chat,) = await world.seed_groups([offset(CENTRE, 80)])
    async with world.services.sessions() as session:
        group = (await session.exec(select(Group).where(Group.chat_id == chat.chat_id))).one()
        assert group.status == GroupStatus.APPROVED
        group.title = TITLE
        session.add(group)
        await session.commit()
    family = world.fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family, description=WORDS)
    sighter = world.fake.user(7001, first_name="Keeper", language_code="en")
    world.fake.add_member(chat, sighter)
    alert = next(m for m in world.fake.messages(chat.chat_id) if m.photo_file_id)
    world.fake.send(sighter, chat=chat, venue=(*offset(CENTRE, 120), PLACE, "x"), reply_to=alert)
    await world.settle()
    return officer, case_id


async def open_page(chromium: Any, url: str) -> tuple[Any, list[str], Any]:
    page = await chromium.new_page(viewport={"width": 1280, "height": 800})
    seen: list[str] = []
    page.on("dialog", lambda dialog: seen.append("dialog: " + dialog.message))
    page.on("pageerror", lambda error: seen.append("error: " + str(error)))
    response = await page.goto(url)
    assert response is not None and response.ok
    return page, seen, response


async def test_hostile_words_on_the_map_run_nothing(
    room: World,  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    officer, case_id = await hostile_search(room)
    app = mini_app_link(
        f"{room.settings.web_url}/app?case={case_id}", init_data(room.fake.token, officer)
    )
    token, _ = await auth.screen_token(room.services, "en")
    screen = f"{room.settings.web_url}/screen?token={token}&case={case_id}"
    for url, officers in ((app, True), (screen, False)):
        page, seen, response = await open_page(browser, url)
        await page.wait_for_selector("path.sb-group")
        await page.wait_for_selector(".sb-sighting")
        for target in ("path.sb-group", ".sb-sighting", "path.sb-last-seen"):
            await page.hover(target, force=True)
            await page.click(target, force=True)
        assert await page.evaluate("window.sbPwned") is None
        tooltip = await page.locator(".leaflet-tooltip").all_inner_texts()
        if officers:  # the title is drawn as the text it is
            await page.hover("path.sb-group", force=True)
            tips = " ".join(await page.locator(".leaflet-tooltip").all_inner_texts())
            assert "<img src=x" in tips, tips
        else:  # the screen draws role markers, no titles
            assert not any("Lotus" in t for t in tooltip), tooltip
        card = await page.locator("#card").inner_text()
        assert "<img src=x" in card and "red coat" in card, card
        if officers:
            assert "<svg" in await page.locator("#sightings").inner_text()
        injected = (
            "#panel img, #panel svg, #panel script, .leaflet-tooltip img, .leaflet-tooltip svg"
        )
        assert await page.locator(injected).count() == 0
        assert seen == [], seen
        csp = await response.header_value("content-security-policy")
        assert csp is not None and "script-src 'self'" in csp
        await page.close()
    assert room.fake.violations == []
