"""The photo always leaves the groups when a search ends: a 48-hour-old alert Telegram will not
delete gets the placeholder picture instead; a group that removed the bot has its alert
retracted when it adds the bot back; a group that became a supergroup keeps no photo and loses
no other message."""

from __future__ import annotations

import pytest
from sqlmodel import select

from fakegram import FakeBotApi, FakeMessage
from searchbot.models import BotState, Group, OutboxMessage
from searchbot.telegram.placeholder import KEY
from tests.test_strict_limits import strict, strict_world
from tests.world import CENTRE, World, offset

pytestmark = pytest.mark.slow  # every test here waits on Telegram's pace or a restart

__all__ = ["strict"]  # the fixture: a Bot API as strict as Telegram

TWO_DAYS = 49 * 3600


def alert_in(fake: FakeBotApi, chat_id: int) -> FakeMessage:
    (alert,) = [m for m in fake.messages(chat_id) if m.photo_file_id]
    return alert


async def test_an_alert_too_old_to_delete_gets_the_placeholder(
    strict: FakeBotApi, database_url: str
) -> None:
    fake = strict
    async with strict_world(fake, database_url) as world:
        await _test_an_alert_too_old_to_delete_gets_the_placeholder(world, fake)


async def _test_an_alert_too_old_to_delete_gets_the_placeholder(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    first, second = await world.seed_groups([offset(CENTRE, 120), offset(CENTRE, 160)])
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    alerts = [alert_in(fake, first.chat_id), alert_in(fake, second.chat_id)]
    photo = alerts[0].photo_file_id
    for alert in alerts:
        fake.backdate(alert, TWO_DAYS)  # Telegram: "message can't be deleted for everyone"
    uploads = fake.upload_count

    await world.says(officer, f"/close {case_id} found")
    await world.settle()

    refused = [c for c in fake.calls_to("deleteMessage") if not c.ok]
    assert len(refused) == 2
    async with world.services.sessions() as session:
        kept = await session.get(BotState, KEY)
    assert kept is not None
    for alert in alerts:
        assert not alert.deleted  # still there, but the child's photo is not
        assert alert.photo_file_id not in (None, photo)
        assert alert.photo_file_id == kept.value
        assert "search is over" in alert.body
        assert alert.button_texts == []
    assert fake.upload_count == uploads + 1  # the placeholder is uploaded once, then by id
    assert not any("may still show" in m.body for m in fake.messages(officer.user_id))
    assert fake.violations == []


async def test_when_the_placeholder_is_refused_too_officers_hear_which_group(
    strict: FakeBotApi, database_url: str
) -> None:
    fake = strict
    async with strict_world(fake, database_url) as world:
        await _test_when_the_placeholder_is_refused_too_officers_hear_which_group(world, fake)


async def _test_when_the_placeholder_is_refused_too_officers_hear_which_group(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    (chat,) = await world.seed_groups([offset(CENTRE, 120)])
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    fake.backdate(alert_in(fake, chat.chat_id), TWO_DAYS)
    fake.fail_next(chat, status=400, count=2)  # the delete, then the media edit, refused

    await world.says(officer, f"/close {case_id} found")
    await world.settle()

    told = [m for m in fake.messages(officer.user_id) if "may still show" in m.body]
    assert len(told) == 1 and chat.title in told[0].body and f"#{case_id}" in told[0].body
    async with world.services.sessions() as session:
        (row,) = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "retract"))
        ).all()
    assert row.status == "dead"


async def test_a_group_that_removed_the_bot_is_retracted_when_it_adds_the_bot_back(
    strict: FakeBotApi, database_url: str
) -> None:
    fake = strict
    async with strict_world(fake, database_url) as world:
        await _test_a_group_that_removed_the_bot_is_retracted_when_it_adds_the_bot_back(world, fake)


async def _test_a_group_that_removed_the_bot_is_retracted_when_it_adds_the_bot_back(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    (chat,) = await world.seed_groups([offset(CENTRE, 120)])
    owner = fake.user(7100, first_name="Shop owner", language_code="en")
    chat.admins.append(owner.user_id)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    alert = alert_in(fake, chat.chat_id)

    fake.remove_bot(chat, by=owner)
    await world.settle()
    await world.says(officer, f"/close {case_id} found")
    await world.settle()
    assert not alert.deleted  # the bot is out: nothing it can do yet
    async with world.services.sessions() as session:
        held = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.status == "held"))
        ).all()
    assert {row.kind for row in held} == {"retract", "closing_notice"}

    fake.add_bot(chat, by=owner)
    await world.settle()
    assert alert.deleted
    assert any("search is over" in m.body for m in fake.messages(chat.chat_id))
    assert not any(m.photo_file_id for m in fake.messages(chat.chat_id))
    assert fake.violations == []


async def test_a_migrated_group_keeps_no_photo_and_loses_no_other_message(
    strict: FakeBotApi, database_url: str
) -> None:
    fake = strict
    async with strict_world(fake, database_url) as world:
        await _test_a_migrated_group_keeps_no_photo_and_loses_no_other_message(world, fake)


async def _test_a_migrated_group_keeps_no_photo_and_loses_no_other_message(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    (chat,) = await world.seed_groups([offset(CENTRE, 120)])
    member = fake.user(7200, first_name="Clerk", language_code="en")
    fake.send(member, chat=chat, text="good morning")  # the old chat's message 1
    first_family = fake.user(5001, first_name="Mother", language_code="en")
    first_case = await world.report(first_family)
    await world.settle()
    old_alert = alert_in(fake, chat.chat_id)

    new_id = -1009999
    fake.migrate(chat, new_id)  # the supergroup's message 1 is the migration notice
    second_family = fake.user(5002, first_name="Father", language_code="en")
    await world.report(second_family, offset(CENTRE, 50))
    await world.settle()
    other_alert = alert_in(fake, new_id)
    assert other_alert.message_id == old_alert.message_id  # the same number, another chat

    await world.says(officer, f"/close {first_case} found")
    await world.settle()

    assert not other_alert.deleted  # the other open case's alert stays
    new_chat = fake.messages(new_id)
    assert [m.photo_file_id for m in new_chat if m.photo_file_id] == [other_alert.photo_file_id]
    assert any(f"#{first_case}" in m.body and "search is over" in m.body for m in new_chat)
    assert not any(
        c.method == "deleteMessage" and int(c.params["chat_id"]) == new_id for c in fake.calls
    )
    told = [m for m in fake.messages(officer.user_id) if "may still show" in m.body]
    assert len(told) == 1 and f"#{first_case}" in told[0].body
    async with world.services.sessions() as session:
        (group,) = (await session.exec(select(Group))).all()
    assert group.chat_id == new_id
    assert fake.violations == []
