"""The family's report dialogue: every wrong answer gets a clear re-ask and the dialogue goes on;
places are resolved through the station's landmarks; a restart loses nothing."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from fakegram import FakeBotApi
from searchbot.cases.places import import_landmarks
from searchbot.models import Case, Dialogue
from tests.world import CENTRE, World, offset, world_settings


async def cases(world: World) -> list[Case]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(Case))).all())


async def test_wrong_answers_are_asked_again(world: World, fake: FakeBotApi) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    await world.says(family, "/report")

    # a text, a document and a sticker where a photo is asked
    for wrong in ({"text": "here is my son"}, {"document": True}, {"sticker": True}):
        answer = await world.says(family, **wrong)
        assert "Please send a photo" in answer.body
    saved = await world.says(family, photo=True)
    assert "Photo 1 saved" in saved.body
    await world.taps(family, saved, "Next")

    await world.says(family, "Lili")
    for wrong_age in ("abc", "-3", "130", "six"):
        answer = await world.says(family, wrong_age)
        assert "age as a number between 0 and 120" in answer.body
    sex = await world.says(family, "4")
    assert "Sex?" in sex.body
    answer = await world.says(family, "maybe")
    assert "tap one of the buttons" in answer.body
    description_ask = await world.taps(family, answer, "Girl")
    assert description_ask is not None and "Describe them" in description_ask.body

    # an empty description: a sticker, a photo without caption, blank text
    for wrong in ({"sticker": True}, {"photo": True}, {"text": "   "}):
        answer = await world.says(family, **wrong)
        assert "describe them in words" in answer.body
    place_ask = await world.says(family, "yellow raincoat, pink boots")
    assert "Where were they last seen" in place_ask.body

    answer = await world.says(family, "the moon base")
    assert "could not find “the moon base”" in answer.body
    answer = await world.says(family, location=CENTRE)
    assert "When were they last seen" in answer.body
    answer = await world.says(family, "yesterday-ish")
    assert "time like 14:30" in answer.body
    contact_ask = await world.says(family, "10 min")
    assert "phone number" in contact_ask.body
    answer = await world.says(family, "call me")
    assert "send a phone number" in answer.body
    summary = await world.says(family, "/skip")
    assert "Please check" in summary.body and "Lili" in summary.body
    assert "no phone given" in summary.body
    assert await cases(world) == []  # nothing is created before Confirm

    done = await world.taps(family, summary, "Confirm")
    assert done is not None and "Case #1 is open" in done.body
    (case,) = await cases(world)
    assert (case.name, case.age, case.sex, case.contact) == ("Lili", 4, "f", None)
    assert case.description == "yellow raincoat, pink boots"
    assert fake.violations == []


async def test_place_names_resolve_through_landmarks(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    gate = offset(CENTRE, 120, -40)
    table = tmp_path / "landmarks.csv"
    table.write_text(
        f"name,aliases,lat,lon\nEast Gate of Yu Garden,east gate|东门,{gate[0]},{gate[1]}\n",
        encoding="utf-8",
    )
    assert await import_landmarks(world.services.sessions, table) == 1

    family = fake.user(5002, first_name="Mother", language_code="en")
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Bao")
    sex = await world.says(family, "3")
    await world.taps(family, sex, "Boy")
    await world.says(family, "green jacket")
    check = await world.says(family, "East gate")
    assert "I found East Gate of Yu Garden" in check.body
    assert any(m.location for m in fake.messages(family.user_id)[-3:])  # a pin to look at
    ask_again = await world.taps(family, check, "No")
    assert ask_again is not None and "Where were they last seen" in ask_again.body
    check = await world.says(family, "东门")
    time_ask = await world.taps(family, check, "Yes")
    assert time_ask is not None and "When were they last seen" in time_ask.body
    contact = await world.taps(family, time_ask, "Just now")
    assert contact is not None
    summary = await world.says(family, "/skip")
    await world.taps(family, summary, "Confirm")
    (case,) = await cases(world)
    assert case.place_text == "East Gate of Yu Garden"
    assert (round(case.lat, 6), round(case.lon, 6)) == (round(gate[0], 6), round(gate[1], 6))


async def test_a_bare_location_is_named_by_the_nearest_landmark(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    """A shopkeeper reads "120 m from the East Gate", not coordinates; far from every landmark
    the coordinates stay."""
    gate = offset(CENTRE, 120)
    table = tmp_path / "landmarks.csv"
    table.write_text(
        f"name,aliases,lat,lon\nEast Gate,,{gate[0]},{gate[1]}\nHarbour,,{offset(CENTRE, 5000)[0]},"
        f"{offset(CENTRE, 5000)[1]}\n",
        encoding="utf-8",
    )
    assert await import_landmarks(world.services.sessions, table) == 2
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    family = fake.user(5001, first_name="Mother", language_code="en")
    officer = await world.officer()
    case_id = await world.report(family)
    await world.says(officer, f"/verify {case_id}")  # sightings reach the family in full
    (case,) = await cases(world)
    assert case.place_text == "120 m from East Gate"
    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    assert "Last seen: 120 m from East Gate" in alert.body

    sighter = fake.user(7001, first_name="Mr Wang", language_code="en")
    fake.send(sighter, chat=group, location=gate, reply_to=alert)  # at the gate itself
    fake.send(sighter, chat=group, location=offset(CENTRE, -1500), reply_to=alert)
    await world.settle()
    heard = [m.body for m in fake.messages(family.user_id) if "Sighting for" in m.body]
    assert len(heard) == 2
    assert "East Gate — 120 m from the last-seen place" in heard[0]
    far = offset(CENTRE, -1500)
    assert f"{far[0]:.5f}, {far[1]:.5f} — 1.5 km from the last-seen place" in heard[1]
    assert fake.violations == []


async def test_edit_and_cancel(world: World, fake: FakeBotApi) -> None:
    family = fake.user(5003, first_name="Grandma", language_code="en")
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Tom")
    sex = await world.says(family, "5")
    await world.taps(family, sex, "Boy")
    await world.says(family, "blue cap")
    when = await world.says(family, location=CENTRE)
    await world.taps(family, when, "Just now")
    summary = await world.says(family, "/skip")
    which = await world.taps(family, summary, "Edit")
    assert which is not None and "What would you like to change" in which.body
    age_ask = await world.taps(family, which, "Age")
    assert age_ask is not None and "How old" in age_ask.body
    summary = await world.says(family, "7")
    assert "Please check" in summary.body and "7 years" in summary.body
    cancelled = await world.taps(family, summary, "Cancel")
    assert cancelled is not None and "Cancelled" in cancelled.body
    assert await cases(world) == []
    answer = await world.says(family, "/cancel")
    assert "nothing to cancel" in answer.body


async def test_places_outside_the_service_area_are_refused(
    fake: FakeBotApi, database_url: str
) -> None:
    area = f"{CENTRE[0]},{CENTRE[1]},5000"
    settings = world_settings(fake, database_url, SEARCHBOT_SERVICE_AREA=area)
    async with World(fake, settings) as world:
        family = fake.user(5004, first_name="Mother", language_code="en")
        await world.says(family, "/report")
        await world.says(family, "/skip")
        await world.says(family, "Ann")
        sex = await world.says(family, "8")
        await world.taps(family, sex, "Girl")
        await world.says(family, "white dress")
        answer = await world.says(family, location=offset(CENTRE, 9000))
        assert "outside this station's area" in answer.body
        answer = await world.says(family, location=offset(CENTRE, 900))
        assert "When were they last seen" in answer.body


async def test_a_restart_mid_dialogue_loses_nothing(fake: FakeBotApi, database_url: str) -> None:
    settings = world_settings(fake, database_url)
    family = fake.user(5005, first_name="Mother", language_code="en")
    async with World(fake, settings) as world:
        await world.says(family, "/report")
        saved = await world.says(family, photo=True)
        await world.taps(family, saved, "Next")
        await world.says(family, "Mia")
    async with World(fake, settings) as world:
        async with world.services.sessions() as session:
            dialogue = await session.get(Dialogue, family.user_id)
        assert dialogue is not None and dialogue.step == "age"
        sex = await world.says(family, "6")
        assert "Sex?" in sex.body
        await world.taps(family, sex, "Girl")
        await world.says(family, "striped shirt")
        when = await world.says(family, location=CENTRE)
        await world.taps(family, when, "Just now")
        summary = await world.says(family, "/skip")
        assert summary.photo_file_id is not None and "Mia" in summary.body
