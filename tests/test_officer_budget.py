"""The officers' channel has a budget: group requests are one message edited in place,
waiting cases one reminder, and requests are limited (one open per group, a cool-down after
/unregister or a rejection, a daily cap per person)."""

from __future__ import annotations

from fakegram import FakeBotApi, FakeChat, FakeMessage, FakeUser
from searchbot.words.texts import say
from tests.world import CENTRE, World, offset


def lists(fake: FakeBotApi, officer: FakeUser) -> list[FakeMessage]:
    """The officer's messages listing group requests (the one list, whatever it says now)."""
    return [
        m
        for m in fake.messages(officer.user_id, include_deleted=True)
        if "asking to receive alerts" in m.body or "No group requests" in m.body
    ]


def last_body(fake: FakeBotApi, chat: FakeChat) -> str:
    last = fake.last(chat)
    assert last is not None
    return last.body


async def ask(world: World, owner: FakeUser, chat: FakeChat, point: tuple[float, float]) -> str:
    """``/register merchant`` and the location in reply; what the bot said last."""
    fake = world.fake
    fake.send(owner, chat=chat, text="/register merchant")
    await world.settle()
    prompt = fake.last(chat)
    assert prompt is not None
    fake.send(owner, chat=chat, location=point, reply_to=prompt)
    await world.settle()
    last = fake.last(chat)
    assert last is not None
    return last.body


async def test_group_requests_are_one_list_edited_in_place(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    owners = [fake.user(7100 + i, first_name=f"Owner {i}", language_code="en") for i in range(3)]
    chats = [
        fake.group(-300 - i, f"Shop {i}", admins=[owner.user_id]) for i, owner in enumerate(owners)
    ]
    for owner, chat in zip(owners, chats, strict=True):
        assert "police will review" in await ask(world, owner, chat, offset(CENTRE, 200))
    (listed,) = lists(fake, officer)
    assert all(str(chat.chat_id) in listed.body for chat in chats)
    assert len([t for t in listed.button_texts if "Approve" in t]) == 3

    await world.taps(officer, listed, "Approve: Shop 1")
    (listed,) = lists(fake, officer)  # the same message, edited
    assert str(chats[1].chat_id) not in listed.body and str(chats[0].chat_id) in listed.body
    fake.send(owners[2], chat=chats[2], text="/unregister")  # a request withdrawn
    await world.settle()
    await world.taps(officer, lists(fake, officer)[0], "Reject")
    (listed,) = lists(fake, officer)
    assert "No group requests" in listed.body and listed.button_texts == []
    assert not any(m.location for m in fake.messages(officer.user_id))  # no pin per request
    assert fake.violations == []


async def test_a_group_waits_after_unregister_and_a_person_has_a_daily_cap(
    world: World, fake: FakeBotApi
) -> None:
    await world.officer()
    owner = fake.user(7100, first_name="Owner", language_code="en")
    shop = fake.group(-300, "Shop", admins=[owner.user_id])
    assert "police will review" in await ask(world, owner, shop, offset(CENTRE, 200))
    fake.send(owner, chat=shop, text="/register merchant")  # one open request per group
    await world.settle()
    assert "already registered" in last_body(fake, shop)
    fake.send(owner, chat=shop, text="/unregister")
    await world.settle()
    fake.send(owner, chat=shop, text="/register merchant")
    await world.settle()
    cooldown = say("en", "register_cooldown", minutes=60)
    assert last_body(fake, shop) == cooldown

    for i in range(1, 5):  # four more groups: five requests today
        chat = fake.group(-300 - i, f"Shop {i}", admins=[owner.user_id])
        assert "police will review" in await ask(world, owner, chat, offset(CENTRE, 200))
    sixth = fake.group(-399, "Sixth shop", admins=[owner.user_id])
    fake.send(owner, chat=sixth, text="/register merchant")
    await world.settle()
    assert last_body(fake, sixth) == say("en", "register_daily_cap", count=5)
    assert fake.violations == []
