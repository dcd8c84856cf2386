"""Paid broadcast, end to end against a fake Bot API that charges Stars and holds the bot to
30 sends a second (1,000 with ``allow_paid_broadcast``, the two counted together): a ring too
wide for ten seconds at the free rate goes paid, nearest groups first, as far as the case's
budget reaches; the Stars the bot lacks send the rest free (officers are told once); a paid
send refused for the balance goes again free; what it cost is on the card and the after-action
page. Every alert arrives exactly once, and nothing else is ever paid for."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from sqlmodel import select

from fakegram import ApiCall, FakeBotApi, FakeChat, Limits
from searchbot.delivery.dispatcher import PAID_CONCURRENCY
from searchbot.models import Case, OutboxMessage
from searchbot.operations import after_action
from tests.world import CENTRE, World, offset, world_settings

ESCALATION = "0:3000,1h:6000"  # the first ring holds every group


def ring_points(count: int) -> list[tuple[float, float]]:
    """``count`` places around the last-seen place, each farther than the one before (so the
    nearest groups are the first ``world.seed_groups`` makes), all within 3 km."""
    points = []
    for index in range(count):
        distance, bearing = 30.0 + 8.0 * index, math.radians(137.5 * index)
        points.append(offset(CENTRE, distance * math.cos(bearing), distance * math.sin(bearing)))
    return points


def limits() -> Limits:
    """Telegram's overall limits (30 a second free, 1,000 paid, counted together) and groups'
    20 a minute; the private chats' pace is left to the bot (the report dialogue)."""
    return Limits(global_per_second=30, group_per_minute=20, paid_per_second=1000)


def alerts(fake: FakeBotApi) -> list[ApiCall]:
    """The alert photos that reached groups."""
    return [
        c for c in fake.calls if c.method == "sendPhoto" and c.ok and int(c.params["chat_id"]) < 0
    ]


def chats_of(calls: Sequence[ApiCall]) -> list[int]:
    return [int(call.params["chat_id"]) for call in calls]


def stars_notices(fake: FakeBotApi, chat_id: int) -> list[str]:
    return [m.body for m in fake.messages(chat_id) if "Stars" in m.body and "free rate" in m.body]


async def wide_ring(world: World, fake: FakeBotApi, groups: int) -> tuple[list[FakeChat], int]:
    """``groups`` approved groups and a confirmed report whose first ring holds them all."""
    chats = await world.seed_groups(ring_points(groups))
    family = fake.user(5001, first_name="Mother", language_code="en")
    return chats, await world.report(family)


def paid_world(fake: FakeBotApi, database_url: str, stars: str) -> World:
    fake.limit(limits())
    return World(
        fake,
        world_settings(
            fake, database_url, SEARCHBOT_ESCALATION=ESCALATION,
            SEARCHBOT_PAID_BROADCAST_STARS=stars,
        ),
    )  # fmt: skip


def assert_nearest_first(calls: Sequence[ApiCall], nearest: Sequence[FakeChat]) -> None:
    """``calls`` went to exactly the ``nearest`` groups, in their order up to the sends in the
    air at once (calls started in order may arrive a few places apart)."""
    ranks = {chat.chat_id: rank for rank, chat in enumerate(nearest)}
    arrived = chats_of(calls)
    assert sorted(arrived, key=ranks.__getitem__) == [c.chat_id for c in nearest]
    assert all(abs(ranks[chat] - place) <= PAID_CONCURRENCY for place, chat in enumerate(arrived))


def assert_each_group_alerted_once(fake: FakeBotApi, chats: Sequence[FakeChat]) -> None:
    sent = chats_of(alerts(fake))
    assert sorted(sent) == sorted(c.chat_id for c in chats)
    assert fake.count_429 == 0 and fake.violations == []


async def test_a_wide_ring_goes_paid_nearest_first_as_far_as_the_budget_reaches(
    fake: FakeBotApi, database_url: str
) -> None:
    fake.stars = 10_100
    async with paid_world(fake, database_url, "20") as world:  # 200 paid alerts a case
        officer = await world.officer()
        chats, case_id = await wide_ring(world, fake, 310)  # 10 s at 30 a second: 300
        await world.settle(timeout=60)
        assert_each_group_alerted_once(fake, chats)
        paid = [c for c in alerts(fake) if c.paid]
        assert_nearest_first(paid, chats[:200])
        free = [c for c in alerts(fake) if not c.paid]
        assert max(c.at for c in paid) < min(c.at for c in free)  # and first
        assert fake.paid_calls == paid  # nothing else paid: replies, cards, notices
        assert fake.stars_spent == pytest.approx(20.0)
        balance_reads = [c for c in fake.calls if c.method == "getMyStarBalance"]
        assert len(balance_reads) >= 2  # at start, and before the ring
        assert stars_notices(fake, officer.user_id) == []

        card = await world.says(officer, f"/case {case_id}")
        assert "Paid broadcast: 200 alerts, 20 Stars." in card.body
        async with world.services.sessions() as session:
            report = await after_action.build(session, case_id, world.settings)
            assert report is not None and report.case.paid_messages == 200
        page = after_action.render(report, "en")
        assert "<b>Paid broadcast:</b> 200 alerts, 20 Stars" in page


@pytest.mark.parametrize(
    ("groups", "stars"),
    [(300, "50"), (310, "0")],
    ids=["ring-the-free-rate-sends-in-ten-seconds", "no-budget"],
)
async def test_no_paid_call_for_a_ring_the_free_rate_sends_in_time_nor_without_a_budget(
    fake: FakeBotApi, database_url: str, groups: int, stars: str
) -> None:
    fake.stars = 20_000
    async with paid_world(fake, database_url, stars) as world:
        await world.officer()
        family = fake.user(5001, first_name="Mother", language_code="en")
        await world.seed_groups(ring_points(groups))
        summary = await world.draft_report(family)
        fake.click(family, summary, "Confirm")  # the ring takes ten seconds: not waited for
        await fake.wait_for(lambda: len(alerts(fake)) >= 60, timeout=30)
        assert fake.paid_calls == [] and fake.stars_spent == 0
        async with world.services.sessions() as session:
            rows = (await session.exec(select(OutboxMessage.paid))).all()
        assert rows and not any(rows)  # no alert of the ring will go paid either
        reads = [c for c in fake.calls if c.method == "getMyStarBalance"]
        assert reads if stars != "0" else not reads  # off: the bot never asks for its Stars


async def test_stars_short_of_the_budget_send_the_farthest_free_and_officers_hear_once(
    fake: FakeBotApi, database_url: str
) -> None:
    fake.stars = 10_029  # 290 paid messages above Telegram's minimum of 10,000
    async with paid_world(fake, database_url, "30") as world:  # a budget of 300
        officer = await world.officer()
        chats, case_id = await wide_ring(world, fake, 310)
        await world.settle(timeout=60)
        assert_each_group_alerted_once(fake, chats)
        assert_nearest_first(fake.paid_calls, chats[:290])
        assert fake.stars_spent == pytest.approx(29.0)
        refused = [c for c in fake.calls if c.error_code == 400]
        assert refused == []  # it never tried a send it knew the Stars could not pay for
        (notice,) = stars_notices(fake, officer.user_id)
        assert (
            f"#{case_id}" in notice
            and "10 group(s)" in notice
            and "10,029, of which Telegram keeps 10,000" in notice
        )
        async with world.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None and case.paid_messages == 290


async def test_a_paid_send_refused_for_the_balance_goes_again_free(
    fake: FakeBotApi, database_url: str
) -> None:
    """Telegram's minimum moved above what the bot knows (or someone else spent the Stars):
    the bot believes 750 paid messages are left, Telegram takes 250 and refuses the rest with
    400 BALANCE_TOO_LOW. Each refused alert goes again, free; none is lost or sent twice."""
    fake.stars = 10_075
    fake.star_ledger.minimum = 10_050
    async with paid_world(fake, database_url, "30") as world:
        officer = await world.officer()
        chats, case_id = await wide_ring(world, fake, 310)
        await world.settle(timeout=60)
        assert_each_group_alerted_once(fake, chats)
        refused = [c for c in fake.calls if c.error_code == 400]
        assert refused and all("BALANCE_TOO_LOW" in str(c.description) for c in refused)
        assert len(refused) == 50 and len(fake.paid_calls) == 250
        assert set(chats_of(refused)) <= {c.chat_id for c in chats[250:300]}
        assert len(stars_notices(fake, officer.user_id)) == 1
        async with world.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None and case.paid_messages == 250
