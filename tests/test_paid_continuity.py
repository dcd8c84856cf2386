"""Paid broadcast beside issue 22's continuity: a paid burst that meets Telegram out of reach
goes through the outage breaker like free sends (nothing lost, nothing sent twice, no flood of
calls into the outage, the rows still paid after it); a burst whose dispatcher stops leading
sends nothing more, its rows claimed and not sent are pending again, and a dispatcher whose
fence fails (another process leads) claims no paid chunk."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import false
from sqlmodel import select

from fakegram import FakeBotApi
from searchbot.delivery import burst
from searchbot.delivery.dispatcher import PAID_CONCURRENCY, Dispatcher
from searchbot.delivery.line import Job
from searchbot.delivery.outcomes import Transient
from searchbot.delivery.stars import Stars, Unreachable
from searchbot.models import OutboxMessage
from searchbot.models.outbox import Kind, Lane
from tests.test_paid_broadcast import (
    alerts,
    assert_each_group_alerted_once,
    chats_of,
    paid_world,
    ring_points,
)
from tests.world import World

GROUPS = 360  # over 10 s at the free rate, within the first ring (3 km): all paid on 100 Stars


async def confirm_wide_ring(world: World, fake: FakeBotApi) -> None:
    """The report confirmed, its ring not waited for."""
    family = fake.user(5001, first_name="Mother", language_code="en")
    summary = await world.draft_report(family)
    fake.click(family, summary, "Confirm")


async def alert_rows(world: World) -> list[OutboxMessage]:
    async with world.services.sessions() as session:
        found = await session.exec(select(OutboxMessage).where(OutboxMessage.kind == Kind.ALERT))
        return list(found.all())


@pytest.mark.parametrize("stall", [False, True], ids=["502-at-once", "calls-hang"])
async def test_telegram_out_of_reach_mid_burst_loses_nothing_and_sends_nothing_twice(
    fake: FakeBotApi, database_url: str, stall: bool
) -> None:
    fake.stars = 20_000
    async with paid_world(fake, database_url, "100") as world:
        await world.officer()
        chats = await world.seed_groups(ring_points(GROUPS))
        await confirm_wide_ring(world, fake)
        await fake.wait_for(lambda: len(alerts(fake)) >= 100, timeout=60)
        fake.outage(3, stall=stall)
        await world.settle(timeout=120)
        assert_each_group_alerted_once(fake, chats)
        failed = [c for c in fake.calls if c.method == "sendPhoto" and not c.ok]
        # the calls in the air and those a chunk had started when the breaker tripped, then a
        # probe a second: not the rest of the ring thrown at an unreachable Telegram
        assert 0 < len(failed) <= 2 * PAID_CONCURRENCY + burst.CLAIM_CHUNK + 10
        assert all(c.paid for c in alerts(fake))  # the outage sent none of them free
        assert len(fake.paid_calls) == GROUPS and fake.stars_spent == pytest.approx(GROUPS / 10)
        rows = await alert_rows(world)
        assert {row.status for row in rows} == {"sent"} and len(rows) == GROUPS
        assert max(row.attempts for row in rows) <= 2  # held through the outage, not used up


async def test_a_burst_that_stops_leading_sends_nothing_more_and_leaves_nothing_claimed(
    fake: FakeBotApi, database_url: str
) -> None:
    fake.stars = 20_000
    async with paid_world(fake, database_url, "100") as world:
        await world.officer()
        chats = await world.seed_groups(ring_points(GROUPS))
        await confirm_wide_ring(world, fake)
        await fake.wait_for(lambda: len(alerts(fake)) >= 100, timeout=60)
        leader = world.runtime.dispatcher
        assert leader is not None and world.runtime.transport is not None
        leader.halt()
        await leader.stop()  # the sends in the air settled, the claimed rest handed back
        sent_before = chats_of(alerts(fake))
        assert len(sent_before) < GROUPS
        rows = await alert_rows(world)
        assert "sending" not in {row.status for row in rows}
        assert sorted(r.chat_id for r in rows if r.status == "sent") == sorted(sent_before)

        # another process leads: a dispatcher here whose fence fails claims nothing
        fenced = Dispatcher(world.services, world.runtime.transport, fence=lambda: [false()])
        world.runtime.dispatcher = fenced
        await fenced.start()
        await asyncio.sleep(1.0)
        fenced.halt()
        await fenced.stop()
        assert chats_of(alerts(fake)) == sent_before
        assert "sending" not in {row.status for row in await alert_rows(world)}

        successor = Dispatcher(world.services, world.runtime.transport)  # this process leads
        world.runtime.dispatcher = successor
        await successor.start()
        await world.settle(timeout=120)
        assert_each_group_alerted_once(fake, chats)
        assert all(c.paid for c in alerts(fake))


class Unanswered:
    """Telegram out of reach for the balance's read."""

    async def star_balance(self) -> Decimal:
        raise Transient("Bad Gateway")


async def test_a_balance_telegram_does_not_answer_starts_no_burst_and_keeps_the_rows_paid() -> None:
    settings = SimpleNamespace(paid_broadcast_stars=Decimal(100))
    services: Any = SimpleNamespace(settings=settings)
    stars = Stars(services, Unanswered())
    await stars.start()  # a warning in the log, not a failed start
    assert stars.balance is None
    job = Job(1, -5000, 1, Kind.ALERT, Lane.ALERTS, 0, {}, paid=True)
    with pytest.raises(Unreachable):  # the dispatcher counts it toward the outage
        await stars.cover([job])  # and nothing was read from, or written to, the outbox
