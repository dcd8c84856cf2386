"""One rule per kind of answer, whichever dialogue asks: the family's report, the sighter's
``/seen`` and the finder's ``/found`` read an age, a phone, a place, a note, a time and a skip
the same way (issue 20, point 5). Each test here plays the dialogue whose rule used to be the
weaker one, over HTTP against the fake Bot API; the last one continues dialogues stored by the
code before the engine, so a dialogue open across an upgrade goes on."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from sqlmodel import select

from fakegram import FakeBotApi, FakeMessage, FakeUser
from searchbot.domain.clock import local_hhmm
from searchbot.models import Dialogue, FoundReport
from searchbot.words.texts import say
from tests.world import CENTRE, World


def en(key: str, **values: Any) -> str:
    """The English text as a chat shows it (the fake's ``body`` is the text without markup)."""
    return html.unescape(re.sub(r"</?(b|i|code)>", "", say("en", key, **values)))


async def stored(world: World, user: FakeUser) -> Dialogue | None:
    async with world.services.sessions() as session:
        return await session.get(Dialogue, user.user_id)


async def found_reports(world: World) -> list[FoundReport]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(FoundReport))).all())


def has_button(message: FakeMessage, text: str) -> bool:
    return any(text in label for label in message.button_texts)


# --- a re-ask carries the question's buttons -----------------------------------------------


async def test_every_re_ask_carries_the_questions_buttons(world: World, fake: FakeBotApi) -> None:
    """The family's "please send a phone number" came without the Skip button its question
    had, and "that time is in the future" without **Just now**."""
    family = fake.user(5002, first_name="Mother", language_code="en")
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Lili")
    sex = await world.says(family, "4")
    await world.taps(family, sex, "Girl")
    await world.says(family, "yellow raincoat")
    await world.says(family, location=CENTRE)
    soon = world.services.now() + timedelta(minutes=10)
    if local_hhmm(soon) >= local_hhmm(world.services.now()):  # not across midnight
        future = await world.says(family, local_hhmm(soon))
        assert future.body == en("time_future") and has_button(future, "Just now")
    contact = await world.says(family, "10 min")
    assert has_button(contact, "Skip")
    answer = await world.says(family, "call me")
    assert answer.body == en("contact_expected") and has_button(answer, "Skip")


# --- editing the photos returns to the summary like every other field ----------------------


async def test_editing_the_photos_returns_to_the_summary(world: World, fake: FakeBotApi) -> None:
    """Every field the family edits brings the summary back; the photos alone sent them
    through name, age, sex... again."""
    family = fake.user(5003, first_name="Mother", language_code="en")
    summary = await world.draft_report(family)
    which = await world.taps(family, summary, "Edit")
    assert which is not None
    ask = await world.taps(family, which, "Photo")
    assert ask is not None and ask.body == en("ask_photo")
    saved = await world.says(family, photo=True, asks="Next")
    summary = await world.taps(family, saved, "Next")
    assert summary is not None and "Please check" in summary.body
    assert summary.photo_file_id is not None
    row = await stored(world, family)
    assert row is not None and row.step == "summary" and len(row.data["photos"]) == 1
    done = await world.taps(family, summary, "Confirm")
    assert done is not None and "is open" in done.body
