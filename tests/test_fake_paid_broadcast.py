"""Paid broadcasts in the fake Bot API, driven over HTTP: ``allow_paid_broadcast`` lifts the
overall limit from 30 to 1000 sends a second for 0.1 Star a message from the bot's balance, and
nothing else (see fakegram/stars.py for what Telegram documents and what the fake makes of it).

The flood limits run on a frozen clock, so "in the same second" means exactly that, however
slowly the machine answers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Bot

from fakegram import FakeBotApi, Limits

TOKEN = "123456:TEST"
ENOUGH = 10_000  # Stars a paid broadcast must leave on the balance (the Bot API's minimum)


class FrozenClock:
    """A clock for the flood limits that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Caller:
    """Raw Bot API calls to the fake over one HTTP connection; answers as (status, JSON)."""

    def __init__(self, fake: FakeBotApi, client: httpx.AsyncClient) -> None:
        self.fake, self.client = fake, client

    async def __call__(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        url = f"{self.fake.base_url}{self.fake.token}/{method}"
        response = await self.client.post(url, json=params)
        return response.status_code, response.json()

    async def send(self, chat_id: int, paid: bool = True) -> tuple[int, dict[str, Any]]:
        """A sendMessage to ``chat_id``, paid for unless ``paid`` is False."""
        extra = {"allow_paid_broadcast": True} if paid else {}
        return await self("sendMessage", chat_id=chat_id, text="alert", **extra)


@contextlib.asynccontextmanager
async def paid_fake(
    stars: float = 0, limits: Limits | None = None
) -> AsyncIterator[tuple[FakeBotApi, Caller, FrozenClock]]:
    """A fake with Telegram's limits (or ``limits``) on a frozen clock and ``stars`` Stars."""
    clock = FrozenClock()
    fake = FakeBotApi(token=TOKEN, limits=limits or Limits.telegram(), clock=clock, stars=stars)
    async with fake, httpx.AsyncClient() as client:
        yield fake, Caller(fake, client), clock


def people(fake: FakeBotApi, count: int, first: int = 10_001) -> list[int]:
    """``count`` users who started the bot; their private chat ids."""
    return [fake.user(first + index, f"User {index}").user_id for index in range(count)]


@pytest.mark.slow  # a thousand and some calls over HTTP
async def test_paid_sends_pass_the_free_ceiling_up_to_1000_a_second() -> None:
    async with paid_fake(stars=ENOUGH + 100.1) as (fake, call, clock):
        chats = people(fake, 1001)
        for chat_id in chats[:1000]:  # all in the same instant, each to a different person
            status, answer = await call.send(chat_id)
            assert status == 200, answer
        status, answer = await call.send(chats[1000])  # the 1001st in that second
        assert (status, answer["error_code"]) == (429, 429)
        assert answer["parameters"]["retry_after"] == 1
        assert fake.count_429_by_kind["paid"] == 1 and fake.count_429_by_kind["overall"] == 0
        # as for the free limit, the whole bot waits retry_after, free and paid sends alike
        assert (await call.send(chats[0], paid=False))[0] == 429
        assert fake.count_429_by_kind["cooldown"] == 1
        clock.now += 1.0
        assert (await call.send(chats[1000]))[0] == 200
        assert len(fake.paid_calls) == 1001 and fake.stars_spent == 100.1
        assert fake.stars == ENOUGH
        assert fake.violations == []


async def test_free_sends_still_hit_429_beyond_30_a_second() -> None:
    async with paid_fake() as (fake, call, clock):
        chats = people(fake, 31)
        for chat_id in chats[:30]:
            assert (await call.send(chat_id, paid=False))[0] == 200
        status, answer = await call.send(chats[30], paid=False)
        assert status == 429 and answer["parameters"]["retry_after"] == 1
        assert fake.count_429_by_kind["overall"] == 1
        assert fake.paid_calls == [] and fake.stars_spent == 0


async def test_free_and_paid_sends_count_in_one_window() -> None:
    """Telegram bills "each message broadcasted over the free amount of 30 messages per
    second": paid sends fill the free 30 too, and free ones count towards the 1000."""
    small = Limits(global_per_second=3, paid_per_second=6)
    async with paid_fake(stars=ENOUGH + 1, limits=small) as (fake, call, clock):
        chats = people(fake, 8)
        for chat_id in chats[:3]:
            assert (await call.send(chat_id))[0] == 200  # paid
        assert (await call.send(chats[3], paid=False))[0] == 429  # the free 3 are used up
        assert fake.count_429_by_kind["overall"] == 1
    async with paid_fake(stars=ENOUGH + 1, limits=small) as (fake, call, clock):
        chats = people(fake, 8)
        for chat_id in chats[:2]:
            assert (await call.send(chat_id, paid=False))[0] == 200
        for chat_id in chats[2:6]:
            assert (await call.send(chat_id))[0] == 200
        assert (await call.send(chats[6]))[0] == 429  # 2 free + 4 paid = the paid 6
        assert fake.count_429_by_kind["paid"] == 1
        assert len(fake.paid_calls) == 4 and fake.stars == ENOUGH + 0.6


async def test_each_paid_send_costs_a_tenth_of_a_star() -> None:
    async with paid_fake(stars=ENOUGH + 1) as (fake, call, clock):
        chats = people(fake, 4)
        for chat_id in chats[:3]:
            assert (await call.send(chat_id))[0] == 200
        assert fake.stars == ENOUGH + 0.7 and fake.stars_spent == 0.3
        assert (await call.send(chats[3], paid=False))[0] == 200  # free: no Stars
        assert fake.stars == ENOUGH + 0.7
        assert [c.paid for c in fake.calls_to("sendMessage")] == [True, True, True, False]
        assert fake.star_ledger.spent_nanostars == 300_000_000
        status, answer = await call("getMyStarBalance")
        assert answer["result"] == {"amount": 10_000, "nanostar_amount": 700_000_000}


async def test_an_album_pays_for_each_message() -> None:
    async with paid_fake(stars=ENOUGH + 1) as (fake, call, clock):
        (chat_id,) = people(fake, 1)
        media = [{"type": "photo", "media": f"https://example.org/{n}.jpg"} for n in range(3)]
        status, answer = await call(
            "sendMediaGroup", chat_id=chat_id, media=media, allow_paid_broadcast=True
        )
        assert status == 200 and len(answer["result"]) == 3
        assert fake.stars_spent == 0.3 and fake.stars == ENOUGH + 0.7


async def test_a_short_balance_refuses_a_paid_send() -> None:
    async with paid_fake(stars=ENOUGH + 0.2) as (fake, call, clock):
        chats = people(fake, 3)
        assert (await call.send(chats[0]))[0] == 200
        assert (await call.send(chats[1]))[0] == 200
        status, answer = await call.send(chats[2])  # it would leave less than the minimum
        assert (status, answer["description"]) == (400, "Bad Request: BALANCE_TOO_LOW")
        assert fake.stars == ENOUGH and fake.messages(chats[2]) == []
        assert (await call.send(chats[2], paid=False))[0] == 200  # free sends still go
        assert fake.violations == []  # a runtime refusal, like "chat not found"
        fake.star_ledger.minimum = 0  # without the minimum the balance still has to cover it
        fake.stars = 0.1
        assert (await call.send(chats[0]))[0] == 200
        assert (await call.send(chats[1]))[0] == 400
        assert fake.stars == 0 and len(fake.paid_calls) == 3


async def test_a_refused_paid_send_is_not_charged() -> None:
    """Telegram charges "only for messages that are broadcasted successfully"."""
    async with paid_fake(stars=ENOUGH + 1) as (fake, call, clock):
        mei = fake.user(1001, "Mei")
        fake.block(mei)
        status, answer = await call.send(mei.user_id)
        assert (status, answer["description"]) == (403, "Forbidden: bot was blocked by the user")
        assert (await call.send(424242))[0] == 400  # chat not found
        assert fake.stars == ENOUGH + 1 and fake.paid_calls == []


async def test_per_chat_limits_still_refuse_a_paid_burst() -> None:
    async with paid_fake(stars=ENOUGH + 10) as (fake, call, clock):
        (chat_id,) = people(fake, 1)
        for _ in range(3):  # the short burst a chat allows
            assert (await call.send(chat_id))[0] == 200
        assert (await call.send(chat_id))[0] == 429
        assert fake.count_429_by_kind["chat"] == 1
        group = fake.group(-1001, "Shop").chat_id
        clock.now += 1.0
        for _ in range(20):  # one a second: the bucket allows it, the minute fills up
            assert (await call.send(group))[0] == 200
            clock.now += 1.0
        status, answer = await call.send(group)
        assert status == 429 and answer["parameters"]["retry_after"] == 40
        assert fake.count_429_by_kind["group"] == 1
        assert len(fake.paid_calls) == 23


async def test_get_my_star_balance_answers_a_star_amount() -> None:
    async with paid_fake() as (fake, call, clock):
        status, answer = await call("getMyStarBalance")
        assert (status, answer["result"]) == (200, {"amount": 0})
        fake.stars = 12.5
        _, answer = await call("getMyStarBalance")
        assert answer["result"] == {"amount": 12, "nanostar_amount": 500_000_000}
        assert fake.spec.validate_object(answer["result"], "StarAmount") == []
        async with Bot(TOKEN, base_url=fake.base_url) as bot:  # as python-telegram-bot reads it
            balance = await bot.get_my_star_balance()
        assert (balance.amount, balance.nanostar_amount) == (12, 500_000_000)
        assert fake.violations == []
