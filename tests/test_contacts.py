"""The family's phone is checked and stored in one form (E.164), so officers can dial it and
the database can hold it: a contact card with 40 digits, or a typed number too long or too
short, is asked again in the family's language; the report can always be confirmed."""

from __future__ import annotations

from sqlmodel import select

from fakegram import FakeBotApi, FakeMessage, FakeUser
from searchbot.models import Case, Sighting
from tests.world import CENTRE, World, offset

FORTY_DIGITS = "8" * 40


async def edit_contact(world: World, family: FakeUser, summary: FakeMessage) -> None:
    which = await world.taps(family, summary, "Edit")
    assert which is not None
    ask = await world.taps(family, which, "Contact")
    assert ask is not None and "phone number" in ask.body


async def stored_contacts(world: World) -> list[str | None]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(Case.contact).order_by(Case.id))).all())


async def test_a_forty_digit_contact_card_is_asked_again_and_the_report_confirms(
    world: World, fake: FakeBotApi
) -> None:
    family = fake.user(5001, first_name="Mother", language_code="en")
    summary = await world.draft_report(family)
    await edit_contact(world, family, summary)
    for shared in (FORTY_DIGITS, "8" * 70):  # 70: longer than the column, too
        answer = await world.says(family, contact=shared)
        assert "not a phone number the police could call" in answer.body
    for typed in ("1" * 25, "12345", "+86 138 0013 8000 0000"):
        answer = await world.says(family, typed)
        assert "not a phone number the police could call" in answer.body, typed
    summary = await world.says(family, contact="8613800138000")  # Telegram omits the "+"
    assert "Please check" in summary.body and "+8613800138000" in summary.body
    done = await world.taps(family, summary, "Confirm")
    assert done is not None and "is open" in done.body
    assert await stored_contacts(world) == ["+8613800138000"]
    assert fake.violations == []


async def test_typed_numbers_are_stored_in_one_form_and_in_chinese_the_reask_is_chinese(
    world: World, fake: FakeBotApi
) -> None:
    mother = fake.user(5002, first_name="妈妈", language_code="zh-hans")
    await world.says(mother, "/report")
    await world.says(mother, "/skip")
    await world.says(mother, "小明")
    sex = await world.says(mother, "6")
    await world.taps(mother, sex, "男")
    await world.says(mother, "红色T恤")
    when = await world.says(mother, location=(31.2304, 121.4737))
    contact_ask = await world.taps(mother, when, "刚刚")
    assert contact_ask is not None
    answer = await world.says(mother, contact=FORTY_DIGITS)
    assert "不是警方可以拨打的电话号码" in answer.body
    summary = await world.says(mother, "021 6321 0000")  # a Shanghai landline, national form
    assert "+862163210000" in summary.body
    done = await world.taps(mother, summary, "确认")
    assert done is not None and "#" in done.body
    assert await stored_contacts(world) == ["+862163210000"]
    assert fake.violations == []


async def test_a_sighters_shared_contact_is_checked_and_stored_in_one_form(
    world: World, fake: FakeBotApi
) -> None:
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    link = next(b["url"] for row in alert.buttons for b in row if "url" in b)
    sighter = fake.user(7001, first_name="Wu", language_code="en")
    await world.says(sighter, "/start " + link.split("start=", 1)[1])
    answer = await world.says(sighter, contact=FORTY_DIGITS)
    assert "cannot be called" in answer.body
    answer = await world.says(sighter, contact="8613912345678")
    assert "call you back" in answer.body
    photo_ask = await world.says(sighter, location=offset(CENTRE, 90))
    note_ask = await world.taps(sighter, photo_ask, "Skip")
    assert note_ask is not None
    when = await world.says(sighter, "by the fountain")
    await world.taps(sighter, when, "Just now")
    async with world.services.sessions() as session:
        contacts = (await session.exec(select(Sighting.contact))).all()
    assert list(contacts) == ["+8613912345678"]
    assert fake.violations == []
