"""A crowd's "Checked — not here" is handled as its update is read (``handlers/presses.py``):
answered and counted even while an update before it (a family's Confirm) waits for the
database, which used to hold every press behind it; and the poller confirms what was handled
so and hands none of it over. The presses the quick way must not
take (forged data, a press in a private chat or on a message without that button) are
tests/test_permissions.py's forged callbacks: they still get the ordinary answer."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url
from sqlmodel import select
from telegram import Bot

from fakegram import FakeBotApi
from searchbot.delivery.leadership import asyncpg_dsn
from searchbot.models import AlertCheck
from searchbot.rehearsal import free_port
from searchbot.telegram.bot_http import AiohttpRequest
from searchbot.telegram.poller import Poller
from tests.test_crowd import (
    THANKS,
    alerted_crowd,
    answers_to,
    everyone_presses,
    second_family_at_confirm,
)
from tests.test_operations import SECRET
from tests.world import World, world_settings

TOKEN = "123456:QUICK"
QUICK = 150  # updates taken as they are read, behind one that is not


@contextlib.asynccontextmanager
async def cases_locked(url: str) -> AsyncIterator[None]:
    """No new case can be written until the block ends: SQLite's write lock, or PostgreSQL's
    lock on the cases table (a Confirm waits; the presses' own table stays free)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(parsed.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE cases IN EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


async def test_a_crowd_is_answered_while_a_confirm_before_it_waits_for_the_database(
    world: World, fake: FakeBotApi
) -> None:
    case_id, chats, members, alerts = await alerted_crowd(world, fake)
    family, summary = await second_family_at_confirm(world, fake)
    async with cases_locked(world.settings.database_url):
        confirm = fake.click(family, summary, "Confirm")  # first in line, and it waits
        presses = everyone_presses(fake, chats, members, alerts)
        await fake.wait_for(lambda: all(q in fake.callback_answers for q in presses), timeout=10)
        assert confirm not in fake.callback_answers  # still waiting behind the lock
    await fake.wait_for(lambda: confirm in fake.callback_answers, timeout=30)
    await world.settle()
    assert {q: answers_to(fake, q) for q in presses} == {q: [THANKS] for q in presses}
    assert any("is open" in m.body for m in fake.messages(family))
    async with world.services.sessions() as session:
        checks = (await session.exec(select(AlertCheck))).all()
    assert sorted((c.chat_id, c.user_id) for c in checks) == sorted(presses.values())
    assert {c.case_id for c in checks} == {case_id}
    assert fake.violations == []


async def test_a_crowd_through_the_webhook_is_answered_once_each_and_counted(
    fake: FakeBotApi, database_url: str
) -> None:
    """With a webhook the same presses are taken as each post is read: one answer each, every
    member counted."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = world_settings(
        fake, database_url, SEARCHBOT_WEBHOOK_URL=url, SEARCHBOT_WEBHOOK_SECRET=SECRET,
        SEARCHBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
    )  # fmt: skip
    async with World(fake, settings) as world:
        case_id, chats, members, alerts = await alerted_crowd(world, fake)
        presses = everyone_presses(fake, chats, members, alerts)
        await fake.wait_for(lambda: all(q in fake.callback_answers for q in presses), timeout=10)
        await world.settle()
        assert {q: answers_to(fake, q) for q in presses} == {q: [THANKS] for q in presses}
        async with world.services.sessions() as session:
            checks = (await session.exec(select(AlertCheck))).all()
        assert sorted((c.chat_id, c.user_id) for c in checks) == sorted(presses.values())
        assert not fake.calls_to("getUpdates") and fake.violations == []


async def test_the_poller_confirms_updates_handled_as_read_and_hands_none_over() -> None:
    """Updates taken as they are read are confirmed without being handed over. One update in
    hand holds the offset: a poll brings the 99 behind it (Telegram's 100 at most), the rest
    once it is done."""
    async with FakeBotApi(token=TOKEN) as fake:
        request = AiohttpRequest(pool_size=1)
        taken: set[int] = set()  # (QuickPresses answers each once: the crowd test above)

        def take(update: dict[str, object]) -> bool:
            message = update.get("message")
            text = message.get("text") if isinstance(message, dict) else None
            if text != "quick":
                return False
            update_id = update["update_id"]
            assert isinstance(update_id, int)
            taken.add(update_id)
            return True

        request.take = take
        async with Bot(TOKEN, base_url=fake.base_url, get_updates_request=request) as bot:

            async def database_ok() -> bool:
                return True

            queue: asyncio.Queue[object] = asyncio.Queue()
            poller = Poller(bot, queue, 1, ["message"], database_ok)
            mei = fake.user(1001, "Mei")
            fake.send(mei, text="slow")
            for _ in range(QUICK):
                fake.send(mei, text="quick")
            poller.start()
            slow = await asyncio.wait_for(queue.get(), 5)
            await fake.wait_for(lambda: len(taken) == 99, timeout=5)
            await asyncio.sleep(0.3)  # a few more polls: they bring nothing new
            assert len(taken) == 99
            assert queue.empty()  # nothing taken was handed over
            assert fake.pending_update_count == 1 + QUICK  # "slow" holds them all
            poller.finished(slow)
            await fake.wait_for(lambda: fake.pending_update_count == 0, timeout=5)
            assert len(taken) == QUICK
            assert queue.empty()
            await poller.stop(confirm=True)
