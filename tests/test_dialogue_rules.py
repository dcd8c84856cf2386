"""One rule per kind of answer, whichever dialogue asks: the family's report, the sighter's
``/seen`` and the finder's ``/found`` read an age, a phone, a place, a note, a time and a skip
the same way (issue 20, point 5). Each test here plays the dialogue whose rule used to be the
weaker one, over HTTP against the fake Bot API; the last one continues dialogues stored by the
code before the engine, so a dialogue open across an upgrade goes on."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from fakegram import FakeBotApi, FakeMessage, FakeUser
from searchbot.cases.places import import_landmarks
from searchbot.domain.clock import local_hhmm
from searchbot.models import Case, Dialogue, FoundReport, Sighting
from searchbot.words.texts import say
from tests.world import CENTRE, World, offset


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


# --- the age: the finder's as the family's -------------------------------------------------


@pytest.mark.parametrize("typed", ["6歲", "６歲", "６ 岁", "06"])
async def test_the_finder_writes_an_age_as_the_family_does(
    world: World, fake: FakeBotApi, typed: str
) -> None:
    """The family's age always took 歲 (traditional) besides 岁, and a leading zero; the
    finder's only 岁 and two digits."""
    finder = fake.user(7001, first_name="Finder", language_code="en")
    await world.says(finder, "/found")
    await world.says(finder, "/skip")
    sex = await world.says(finder, typed)
    assert "Sex?" in sex.body, sex.body
    row = await stored(world, finder)
    assert row is not None and (row.step, row.data["age"]) == ("sex", 6)

    family = fake.user(5001, first_name="Mother", language_code="en")
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Lili")
    sex = await world.says(family, typed)
    assert "Sex?" in sex.body, sex.body


# --- the phone: the finder's as the family's -----------------------------------------------


async def test_the_finders_phone_is_checked_and_stored_like_the_familys(
    world: World, fake: FakeBotApi
) -> None:
    """The finder's phone was checked by counting digits (5 to 20) and stored as typed; now it
    goes through ``phones.normalise`` like the family's: a number too short is asked again with
    the family's words, and what is kept is E.164."""
    finder = fake.user(7002, first_name="Finder", language_code="en")
    await world.found_child(finder, offset(CENTRE, 50), phone=None)
    for wrong in ("139 0013 900", "12345", "1" * 25):
        answer = await world.says(finder, wrong)
        assert answer.body == en("contact_invalid"), wrong
        assert has_button(answer, "Skip")
    answer = await world.says(finder, contact="8" * 40)  # a contact card no one can dial
    assert answer.body == en("contact_invalid")
    answer = await world.says(finder, "call me")
    assert answer.body == en("contact_expected") and has_button(answer, "Skip")
    assert await found_reports(world) == []
    sent = await world.says(finder, "139 0013 9000")
    assert "The police have your report" in sent.body
    (report,) = await found_reports(world)
    assert report.contact == "+8613900139000"

    sharer = fake.user(7003, first_name="Sharer", language_code="en")
    await world.found_child(sharer, offset(CENTRE, 50), phone=None)
    await world.says(sharer, contact="8613912345678")  # Telegram omits the "+"
    contacts = {r.contact for r in await found_reports(world)}
    assert contacts == {"+8613900139000", "+8613912345678"}
    assert fake.violations == []


# --- /skip and its synonyms ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["/next", "/done"])
async def test_the_finder_and_the_sighter_end_the_photo_step_as_the_family_does(
    world: World, fake: FakeBotApi, command: str
) -> None:
    """``/next`` and ``/done`` (the commands the bot's menu sends to any dialogue) ended the
    family's photos only; the others said "please send a photo"."""
    finder = fake.user(7004, first_name="Finder", language_code="en")
    await world.says(finder, "/found")
    age = await world.says(finder, command)
    assert age.body == en("found_ask_age")

    sighter = fake.user(7005, first_name="Sighter", language_code="en")
    await world.says(sighter, "/seen 99")
    await world.says(sighter, location=offset(CENTRE, 30))
    note = await world.says(sighter, command)
    assert note.body == en("seen_ask_note")


# --- free text: the sighter's note and place as the family's words -------------------------


async def test_the_sighters_words_follow_the_free_text_rule(world: World, fake: FakeBotApi) -> None:
    """A place or a note of blanks was taken as an answer, and a note too long was cut without
    a word; now, as for the family's description, blanks are asked again and a note over the
    limit is asked again with the limit (nothing is cut behind the sighter's back)."""
    sighter = fake.user(7006, first_name="Sighter", language_code="en")
    await world.says(sighter, "/seen 99")
    again = await world.says(sighter, "   ")
    assert again.body == en("seen_ask_place")
    photo = await world.says(sighter, location=offset(CENTRE, 30))
    assert photo.body == en("seen_ask_photo")
    await world.taps(sighter, photo, "Skip")
    for wrong in ("   ", "n" * 1001):
        answer = await world.says(sighter, wrong)
        assert answer.body == en("seen_note_expected", max=1000), wrong
        assert has_button(answer, "Skip")
    row = await stored(world, sighter)
    assert row is not None and row.step == "note"
    when = await world.says(sighter, "  by the fountain  ")
    assert when.body == en("seen_ask_time")
    row = await stored(world, sighter)
    assert row is not None and row.data["note"] == "by the fountain"


# --- the place: "several places" for the finder as for the family --------------------------


async def test_a_place_that_fits_several_is_called_so_for_the_finder_too(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    """The finder's place went through ``resolve``, which folds "fits several places" into
    "not found": the finder read "I could not find" about a name the bot knows three times."""
    table = tmp_path / "landmarks.csv"
    rows = [f"{n} Gate,,{offset(CENTRE, d)[0]},{offset(CENTRE, d)[1]}" for n, d in
            (("East", 100), ("West", -100), ("North", 200))]  # fmt: skip
    table.write_text("name,aliases,lat,lon\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert await import_landmarks(world.services.sessions, table) == 3

    finder = fake.user(7007, first_name="Finder", language_code="en")
    await world.says(finder, "/found")
    await world.says(finder, "/skip")
    sex = await world.says(finder, "5")
    await world.taps(finder, sex, "Girl")
    await world.says(finder, "green coat")
    answer = await world.says(finder, "gate")
    assert answer.body == en("place_vague", text="gate")
    answer = await world.says(finder, "the moon base")
    assert answer.body == en("place_not_found", text="the moon base")
    with_whom = await world.says(finder, "east gate")
    assert with_whom.body == en("found_ask_with", max=200)
    row = await stored(world, finder)
    assert row is not None and row.data["place"][0] == "East Gate"


# --- the time: a sighter's future time is told so ------------------------------------------


async def test_a_sighters_time_in_the_future_is_told_so(world: World, fake: FakeBotApi) -> None:
    """The family heard "that time is in the future"; the sighter only heard the question
    again, not knowing what was wrong with "14:30"."""
    soon = world.services.now() + timedelta(minutes=10)
    if local_hhmm(soon) < local_hhmm(world.services.now()):  # 23:5x: tomorrow's time
        world.clock.advance(timedelta(hours=1))
        soon = world.services.now() + timedelta(minutes=10)
    sighter = fake.user(7008, first_name="Sighter", language_code="en")
    await world.says(sighter, "/seen 99")
    await world.says(sighter, location=offset(CENTRE, 30))
    await world.says(sighter, "/skip")
    when = await world.says(sighter, "/skip")
    assert when.body == en("seen_ask_time")
    answer = await world.says(sighter, local_hhmm(soon))
    assert answer.body == en("time_future") and has_button(answer, "Just now")
    answer = await world.says(sighter, "yesterday-ish")
    assert answer.body == en("seen_ask_time")
    thanks = await world.says(sighter, "5 min")
    assert thanks.body == en("seen_thanks")
    assert await stored(world, sighter) is None


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


# --- dialogues stored before the engine go on ----------------------------------------------


async def store(world: World, user: FakeUser, kind: str, step: str, **data: Any) -> None:
    """A dialogue row exactly as the code before the engine left it."""
    async with world.services.sessions() as session:
        row = Dialogue(user_id=user.user_id, kind=kind, step=step, data=data,
                       updated_at=world.services.now())  # fmt: skip
        session.add(row)
        await session.commit()


async def test_dialogues_stored_before_the_engine_go_on(world: World, fake: FakeBotApi) -> None:
    """Step names and data keys are as they were, so a report, a found child and a sighting
    left half-answered by the old code carry on after an upgrade."""
    family = fake.user(5004, first_name="Mother", language_code="en")
    photo = fake.file_store.new_photo(b"\xff\xd8" + b"\0" * 100)[-1]["file_id"]
    seen_at = (world.services.now() - timedelta(minutes=20)).isoformat()
    await store(world, family, "report", "place_check", photos=[photo], name="Mia", age=6,
                sex="f", description="striped shirt", candidate=["Fountain", *CENTRE],
                seen_at=seen_at, contact="+8613800138000", editing=True)  # fmt: skip
    check = await world.says(family, location=offset(CENTRE, 20))  # a new place, while editing
    assert "Please check" in check.body and "Mia" in check.body
    await world.taps(family, check, "Confirm")
    async with world.services.sessions() as session:
        (case,) = (await session.exec(select(Case))).all()
    assert (case.name, case.age, case.sex, case.contact) == ("Mia", 6, "f", "+8613800138000")
    assert case.photo_file_ids == [photo] and case.last_seen_at is not None

    finder = fake.user(7009, first_name="Finder", language_code="en")
    await store(world, finder, "found", "with", group=None, photo=None, age=5, sex="m",
                description="blue cap", place=["Fountain", *CENTRE])  # fmt: skip
    await world.says(finder, "me, the shopkeeper")
    await world.says(finder, "13900139000")
    (report,) = await found_reports(world)
    assert (report.age, report.sex, report.with_whom) == (5, "m", "me, the shopkeeper")
    assert (report.place_text, report.contact) == ("Fountain", "+8613900139000")

    sighter = fake.user(7010, first_name="Sighter", language_code="en")
    await store(world, sighter, "seen", "note", case_id=case.id, source="command",
                group_chat_id=None, lat=CENTRE[0], lon=CENTRE[1], place_text=None, photo=None,
                contact="+8613912345678")  # fmt: skip
    when = await world.says(sighter, "by the fountain")
    await world.taps(sighter, when, "Just now")
    async with world.services.sessions() as session:
        (sighting,) = (await session.exec(select(Sighting))).all()
    assert (sighting.note, sighting.contact) == ("by the fountain", "+8613912345678")
    assert sighting.lat == pytest.approx(CENTRE[0]) and sighting.place_text
    assert fake.violations == []
