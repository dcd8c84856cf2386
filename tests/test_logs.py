"""Logs carry no personal data: a whole search logged at DEBUG by every library (the bot's own
lines, python-telegram-bot, httpx, SQLAlchemy, the database drivers) names cases, stages and
group chats, never the child's name, the family's phone, the description, a photo's file id,
a sighter's note, nor the Telegram id of the family or the sighter. A failing statement logs
no parameters either."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from fakegram import FakeBotApi
from searchbot.models import Person, db
from tests.world import CENTRE, World, offset

LIBRARIES = (
    "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite", "asyncpg", "httpx",
    "httpcore", "telegram", "apscheduler", "aiohttp",
)  # fmt: skip
FAMILY_ID, SIGHTER_ID = 730518264, 730518275
CHILD, PHONE = "Qiaoqiao Lianhua", "13912345678"
DESCRIPTION = "yellow raincoat with a green dinosaur"
NOTE = "holding a balloon near the noodle shop"


def everything_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in LIBRARIES:
        caplog.set_level(logging.DEBUG, logger=name)


async def test_a_whole_search_logged_at_debug_names_no_one(
    world: World, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    everything_at_debug(caplog)
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(FAMILY_ID, first_name="Meiling", last_name="Zhang", language_code="en")
    summary = await world.draft_report(family, name=CHILD, description=DESCRIPTION)
    assert PHONE not in summary.body  # the draft's phone is the harness's, replace it
    await world.taps(family, summary, "Edit")
    ask = await world.taps(family, fake.last(family.user_id) or summary, "Contact")
    assert ask is not None
    summary = await world.says(family, PHONE)
    done = await world.taps(family, summary, "Confirm")
    assert done is not None and "is open" in done.body
    case_id = int(done.body.split("#")[1].split()[0])

    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    sighter = fake.user(SIGHTER_ID, first_name="Haoran", last_name="Wu", language_code="en")
    fake.send(sighter, chat=group, photo=True, caption=NOTE, reply_to=alert)
    await world.settle()
    await world.says(officer, f"/close {case_id} found")
    await world.settle()

    file_ids = {m.photo_file_id for m in fake.messages(officer.user_id) if m.photo_file_id}
    assert len(file_ids) >= 2  # the child's photo and the sighter's
    logged = caplog.text
    # the libraries did log at DEBUG: calls, statements, rows
    assert "Calling Bot API endpoint" in logged and "SELECT" in logged and "Row " in logged
    assert f"case={case_id}" in logged  # our own lines name the case
    for secret in (CHILD, "Qiaoqiao", PHONE, DESCRIPTION, "dinosaur", NOTE, "Meiling", "Zhang",
                   "Haoran", str(FAMILY_ID), str(SIGHTER_ID), *file_ids):  # fmt: skip
        assert secret not in logged, secret


async def test_a_failing_statement_logs_no_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    everything_at_debug(caplog)
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    secret = "Meiling Zhang 13912345678"
    person = {"user_id": 42, "first_name": secret, "language": "en", "reachable": True,
              "blocked": False, "updated_at": datetime.now(UTC)}  # fmt: skip
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Person), [person])
        with pytest.raises(IntegrityError) as raised:
            async with engine.begin() as connection:
                await connection.execute(insert(Person), [person])  # the same key again
        logging.getLogger("searchbot.test").exception("insert failed", exc_info=raised.value)
    finally:
        await engine.dispose()
    assert "SQL parameters hidden" in str(raised.value)
    assert "insert failed" in caplog.text and "IntegrityError" in caplog.text
    assert secret not in caplog.text and "Meiling" not in caplog.text
