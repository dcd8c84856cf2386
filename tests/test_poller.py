"""The leader's poller confirms an update to Telegram only once it was handled: one that failed
because the database could not be reached stays unconfirmed, with everything after it, and is
handed over again when the database answers; what was handled is not handed over twice.
Also: what counts as the database being unreachable, and Telegram being down (the outbox's
outage breaker), on their own."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Bot, Update
from telegram.ext import ApplicationHandlerStop

from fakegram import FakeBotApi
from searchbot.delivery import outage
from searchbot.delivery.leadership import database_unreachable
from searchbot.delivery.outage import Outage
from searchbot.rehearsal import free_port
from searchbot.telegram.poller import MAX_TRIES, Poller

TOKEN = "123456:POLLER"
GONE = sql_errors.DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True)


async def handed(queue: asyncio.Queue[object], count: int) -> list[Update]:
    updates = [await asyncio.wait_for(queue.get(), 5) for _ in range(count)]
    assert all(isinstance(update, Update) for update in updates)
    return updates  # type: ignore[return-value]


async def fail_for_want_of_the_database(poller: Poller, update: Update) -> None:
    with pytest.raises(ApplicationHandlerStop):  # the apology is not sent: it comes back
        await poller.note_error(update, SimpleNamespace(error=GONE))
    poller.finished(update)


async def test_a_failed_update_is_not_confirmed_and_is_handed_over_again() -> None:
    async with FakeBotApi(token=TOKEN) as fake, Bot(TOKEN, base_url=fake.base_url) as bot:
        up = asyncio.Event()

        async def database_ok() -> bool:
            return up.is_set()

        queue: asyncio.Queue[object] = asyncio.Queue()
        poller = Poller(bot, queue, 1, ["message"], database_ok)
        mei = fake.user(1001, "Mei")
        for words in ("one", "two", "three"):
            fake.send(mei, text=words)
        poller.start()
        one, two, three = await handed(queue, 3)
        poller.finished(one)
        await fail_for_want_of_the_database(poller, two)
        poller.finished(three)
        await asyncio.sleep(0.5)
        assert fake.pending_update_count == 2  # "two" and, behind it, "three"
        assert queue.empty()  # nothing handed over while the database does not answer
        polls = len(fake.calls_to("getUpdates"))
        await asyncio.sleep(0.5)
        assert len(fake.calls_to("getUpdates")) == polls  # nor asked for

        up.set()
        (again,) = await handed(queue, 1)
        assert again.message is not None and again.message.text == "two"
        poller.finished(again)
        await fake.wait_for(lambda: fake.pending_update_count == 0, timeout=5)
        await asyncio.sleep(0.3)
        assert queue.empty()  # "three" was handled once and is not handed over again
        await poller.stop(confirm=True)


async def test_an_update_that_keeps_failing_is_given_up_after_a_few_tries() -> None:
    async with FakeBotApi(token=TOKEN) as fake, Bot(TOKEN, base_url=fake.base_url) as bot:

        async def database_ok() -> bool:
            return True

        queue: asyncio.Queue[object] = asyncio.Queue()
        poller = Poller(bot, queue, 1, ["message"], database_ok)
        fake.send(fake.user(1001, "Mei"), text="one")
        poller.start()
        for _ in range(MAX_TRIES - 1):
            (update,) = await handed(queue, 1)
            await fail_for_want_of_the_database(poller, update)
        (update,) = await handed(queue, 1)
        await poller.note_error(update, SimpleNamespace(error=GONE))  # the apology goes now
        poller.finished(update)
        await fake.wait_for(lambda: fake.pending_update_count == 0, timeout=5)
        await poller.stop()


async def test_a_stopped_poller_confirms_nothing_it_did_not_handle() -> None:
    """Losing the lead halts the poller: what is in hand stays unconfirmed for the next
    leader (python-telegram-bot's Updater confirms everything it fetched when stopped)."""
    async with FakeBotApi(token=TOKEN) as fake, Bot(TOKEN, base_url=fake.base_url) as bot:

        async def database_ok() -> bool:
            return True

        queue: asyncio.Queue[object] = asyncio.Queue()
        poller = Poller(bot, queue, 1, ["message"], database_ok)
        fake.send(fake.user(1001, "Mei"), text="one")
        poller.start()
        await handed(queue, 1)
        poller.halt()
        await poller.stop()
        assert fake.pending_update_count == 1


async def test_what_counts_as_the_database_out_of_reach() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # a refused connection comes unwrapped from the pool
        refused: BaseException = error
    finally:
        await engine.dispose()
    assert database_unreachable(refused)
    assert database_unreachable(GONE)
    assert not database_unreachable(sql_errors.IntegrityError("INSERT", {}, Exception("dup")))
    assert not database_unreachable(ConnectionRefusedError())  # not the database's driver
    assert not database_unreachable(ValueError())


def test_telegram_counts_as_down_after_three_failures_in_a_row_and_is_probed() -> None:
    now = [0.0]
    breaker = Outage(lambda: now[0])
    assert not breaker.failed(0.0) and not breaker.failed(0.1)
    assert breaker.answered() is None  # an answer between: one chat's trouble, not Telegram's
    assert not breaker.failed(0.2) and not breaker.failed(0.3)
    assert breaker.failed(0.4) and breaker.down
    assert breaker.wait() == outage.PROBE_EVERY  # nothing goes but a probe, once a second
    now[0] = 1.0
    assert breaker.wait() == 0.0
    breaker.probe()
    assert breaker.wait() > 0  # one probe at a time
    now[0] = 1.5
    assert breaker.failed(1.4)
    assert breaker.wait() == pytest.approx(outage.PROBE_EVERY)
    now[0] = 0.2 + outage.LATE_AFTER + 1
    assert breaker.answered() == pytest.approx(outage.LATE_AFTER + 1)  # from the first failure
    assert not breaker.down and breaker.wait() == 0.0
    for started in (20.0, 20.1, 20.2):
        breaker.failed(started)
    now[0] = 21.0
    assert breaker.answered() is None  # a short outage: not worth telling the officers
