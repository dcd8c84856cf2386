"""Delivery against a Bot API as strict as Telegram (``Limits.telegram``: 30 a second overall,
every chat about one a second after a burst of three, groups 20 a minute, and a cool-down after
each 429 for the chat or for the whole bot): a backlog for one chat holds nobody else back, a
chat reads its messages in order with one in flight, a 429 storm costs no message, a fan-out
keeps to the limit without running into it, and a sighting overtakes the fan-out.

The report dialogue is played before the limits are switched on: the handlers still answer
directly (their replies going through the outbox is another part of issue 10), and what is
measured here is the dispatcher. Times are not asserted (the machine may be loaded): what is
asserted is what went out, in which order, and how many 429s it cost; benchmarks/fanout.py
prints the times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from fakegram import ApiCall, FakeBotApi, FakeChat, Limits
from searchbot.delivery.dispatcher import CONCURRENCY
from searchbot.domain.messages import Out
from searchbot.models import OutboxMessage
from searchbot.models.outbox import ALERTS, PEOPLE, enqueue
from tests.world import CENTRE, World, offset, world_settings

pytestmark = pytest.mark.slow  # every test here waits on Telegram's pace or a restart

LATENCY = 0.03


@pytest.fixture
async def strict(fake: FakeBotApi, database_url: str) -> AsyncIterator[World]:
    """The bot at its production pace (one a second per chat) against the fake; the fake's
    limits are switched on by each test once its setup is done."""
    settings = world_settings(
        fake, database_url, SEARCHBOT_CHAT_PER_SECOND=1, SEARCHBOT_ESCALATION="0:5000,1h:6000"
    )
    async with World(fake, settings) as world:
        yield world


def ring(count: int) -> list[tuple[float, float]]:
    """``count`` points spread over a few kilometres around the centre."""
    return [offset(CENTRE, (i % 30) * 80 - 1200, (i // 30) * 90 - 900) for i in range(count)]


def alerts(fake: FakeBotApi, since: int = 0) -> list[ApiCall]:
    return [
        c
        for c in fake.calls[since:]
        if c.method == "sendPhoto" and c.ok and int(c.params["chat_id"]) < 0
    ]


def texts_to(fake: FakeBotApi, chat_id: int) -> list[str]:
    return [m.body for m in fake.messages(chat_id)]


async def queue(world: World, chat_id: int, texts: list[str], lane: int = PEOPLE) -> None:
    """Rows for ``chat_id`` written to the outbox in one transaction, as a use case does."""
    async with world.services.sessions() as session:
        for text in texts:
            await enqueue(
                session, chat_id, Out(text), kind="notice", lane=lane, now=world.services.now()
            )
        await session.commit()


async def outbox_rows(world: World, status: str) -> list[OutboxMessage]:
    async with world.services.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.status == status)
        return list((await session.exec(query)).all())


async def test_a_backlog_for_one_chat_holds_no_other_chat_back(
    strict: World, fake: FakeBotApi
) -> None:
    world = strict
    officers = fake.group(-7000, "Officers")
    family = fake.user(5001, first_name="Mother", language_code="en")
    (shop,) = await world.seed_groups(ring(1))
    fake.limit(Limits.telegram(latency=LATENCY))
    await queue(world, officers.chat_id, [f"request {i}" for i in range(40)])
    await queue(world, family.user_id, ["a sighting for you"])
    await queue(world, shop.chat_id, ["an alert"], lane=ALERTS)

    await fake.wait_for(lambda: texts_to(fake, family.user_id) and texts_to(fake, shop.chat_id))
    # The officers' group had its burst of three and then about one a second: the family and
    # the shop did not wait for its forty.
    assert len(texts_to(fake, officers.chat_id)) <= 5
    await fake.wait_for(lambda: len(texts_to(fake, officers.chat_id)) >= 6, timeout=15)
    assert texts_to(fake, officers.chat_id) == [f"request {i}" for i in range(6)]
    assert fake.count_429 == 0
    assert fake.violations == []


async def test_a_chat_reads_its_messages_in_order_one_in_flight_despite_429s(
    strict: World, fake: FakeBotApi
) -> None:
    world = strict
    group = fake.group(-7000, "Officers")
    person = fake.user(5001, first_name="Mother", language_code="en")
    fake.limit(Limits.telegram(latency=LATENCY))
    fake.fail_next(group, status=429)  # the first send to each is refused: a 1 s cool-down
    fake.fail_next(person, status=429)
    expected = [f"message {i}" for i in range(8)]
    await queue(world, group.chat_id, expected)
    await queue(world, person.user_id, expected)
    await fake.wait_for(lambda: len(texts_to(fake, group.chat_id)) >= 3, timeout=15)
    fake.fail_next(group, status=429)  # and one more in the middle of the line
    await world.settle(timeout=30)

    assert texts_to(fake, group.chat_id) == expected
    assert texts_to(fake, person.user_id) == expected
    assert fake.most_in_flight[group.chat_id] == 1
    assert fake.most_in_flight[person.user_id] == 1
    # Each planned 429 cost one refusal; nothing was sent into a cool-down.
    assert fake.count_429_by_kind["injected"] == 3
    assert fake.count_429 == 3
    assert fake.violations == []


async def test_a_429_storm_costs_no_message(strict: World, fake: FakeBotApi) -> None:
    world = strict
    await world.officer()
    chats = await world.seed_groups(ring(60))
    family = fake.user(5001, first_name="Mother", language_code="en")
    summary = await world.draft_report(family)
    fake.limit(Limits.telegram(latency=LATENCY))
    start = len(fake.calls)
    fake.click(family, summary, "Confirm")
    await fake.wait_for(lambda: len(alerts(fake, start)) >= 10, timeout=15)
    fake.storm(3)  # Telegram refuses everything for three seconds
    await world.settle(timeout=60)

    per_group = Counter(int(c.params["chat_id"]) for c in alerts(fake, start))
    assert sorted(per_group) == sorted(c.chat_id for c in chats)  # none lost
    assert set(per_group.values()) == {1}  # none twice
    assert await outbox_rows(world, "dead") == []
    assert fake.count_429_by_kind["storm"] >= 1
    assert fake.violations == []


def sighting_sent_to(fake: FakeBotApi, chat_id: int) -> ApiCall | None:
    return next(
        (c for c in fake.calls if c.method == "sendMessage" and c.ok
         and int(c.params["chat_id"]) == chat_id and "Sighting for" in str(c.params.get("text"))),
        None,
    )  # fmt: skip


async def test_a_fanout_keeps_to_the_limit_and_a_sighting_overtakes_it(
    strict: World, fake: FakeBotApi
) -> None:
    """The 600-group acceptance run at a quarter of the size: 150 groups (5 s at the limit),
    the sighting a quarter of the way in."""
    world = strict
    groups = 150
    officer = await world.officer()
    chats = await world.seed_groups(ring(groups))
    family = fake.user(5001, first_name="Mother", language_code="en")
    summary = await world.draft_report(family)
    fake.limit(Limits.telegram(latency=LATENCY))
    start = len(fake.calls)
    fake.click(family, summary, "Confirm")
    # an officer verifies at once: only then may sightings reach the family in full
    await fake.wait_for(
        lambda: any("#1" in m.body for m in fake.messages(officer.user_id)), timeout=30
    )
    fake.send(officer, text="/verify 1")
    await fake.wait_for(
        lambda: any("verified by" in m.body for m in fake.messages(officer.user_id)), timeout=30
    )
    await fake.wait_for(lambda: len(alerts(fake, start)) >= groups // 4, timeout=30)
    first: FakeChat = fake.chat(int(alerts(fake, start)[0].params["chat_id"]))
    alert = next(m for m in fake.messages(first.chat_id) if m.photo_file_id)
    keeper = fake.user(7001, first_name="Keeper", language_code="en")
    seen_at = len(fake.calls)
    fake.send(keeper, chat=first, location=offset(CENTRE, 350, 120), reply_to=alert)
    await fake.wait_for(lambda: sighting_sent_to(fake, family.user_id), timeout=30)
    reached = fake.calls.index(sighting_sent_to(fake, family.user_id))  # type: ignore[arg-type]
    await world.settle(timeout=60)

    per_group = Counter(int(c.params["chat_id"]) for c in alerts(fake, start))
    assert sorted(per_group) == sorted(c.chat_id for c in chats)  # none lost
    assert set(per_group.values()) == {1}  # none twice
    assert fake.count_429 <= 1  # the 600-group run allows 5
    # The sighting overtook the fan-out: fewer alerts went out between the keeper's answer and
    # the family's message than two seconds at the limit allow.
    assert len(alerts(fake, seen_at)) - len(alerts(fake, reached)) < 60
    assert len(alerts(fake, reached)) > 0, "the fan-out was over before the sighting arrived"
    assert sighting_sent_to(fake, officer.user_id) is not None
    # The pace never had to come down: no 429s for several chats at once.
    registry = world.runtime.metrics.registry
    assert registry.get_sample_value("searchbot_overall_limit_pauses_total") == 0
    assert registry.get_sample_value("searchbot_send_rate") == world.settings.global_per_second
    assert fake.violations == []


async def test_429s_for_several_chats_pause_everything_and_lower_the_rate(
    strict: World, fake: FakeBotApi
) -> None:
    """A server whose overall limit is a third of what the bot was told (another bot on the
    same token, say): the bot learns it from the 429s instead of sending into the refusal."""
    world = strict
    await world.officer()
    chats = await world.seed_groups(ring(45))
    family = fake.user(5001, first_name="Mother", language_code="en")
    summary = await world.draft_report(family)
    limits = Limits.telegram(latency=LATENCY)
    limits.global_per_second = 10
    fake.limit(limits)
    start = len(fake.calls)
    fake.click(family, summary, "Confirm")
    registry = world.runtime.metrics.registry
    await fake.wait_for(
        lambda: registry.get_sample_value("searchbot_overall_limit_pauses_total"), timeout=30
    )
    assert (registry.get_sample_value("searchbot_send_rate") or 30) < 30
    await world.settle(timeout=60)

    per_group = Counter(int(c.params["chat_id"]) for c in alerts(fake, start))
    assert sorted(per_group) == sorted(c.chat_id for c in chats)  # none lost
    assert set(per_group.values()) == {1}  # none twice
    pauses = registry.get_sample_value("searchbot_overall_limit_pauses_total") or 0
    refused = fake.count_429_by_kind
    assert refused["overall"] >= 1
    # Only the sends already in the air when the bot learned of the limit met its cool-down.
    assert refused["cooldown"] <= CONCURRENCY * pauses
    assert fake.violations == []
