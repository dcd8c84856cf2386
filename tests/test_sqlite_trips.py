"""SQLite statements in one trip to aiosqlite's thread: the engine the bot builds answers as
SQLAlchemy's stock adapter does (rows, column names, counts, new ids, errors, transactions),
with fewer trips. These run on a SQLite file whatever TEST_DATABASE_URL says: PostgreSQL does
not use this adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from searchbot.models import db, sqlite_trips


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    built = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with built.begin() as connection:
        await connection.exec_driver_sql(
            "CREATE TABLE shops (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, open INT)"
        )
    yield built
    await built.dispose()


def test_the_installed_libraries_have_what_the_adapter_needs() -> None:
    """A new SQLAlchemy or aiosqlite without the parts it leans on falls back to the stock
    adapter, which works but makes four trips a statement: this says so before a release."""
    assert sqlite_trips.dbapi() is not None


async def test_the_bot_engine_uses_it(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert type(raw.dbapi_connection).__module__ == sqlite_trips.__name__


async def test_rows_columns_counts_and_new_ids(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(text("INSERT INTO shops (name, open) VALUES ('Tea', 1)"))
        second = await connection.execute(
            text("INSERT INTO shops (name, open) VALUES ('Kiosk', 0)")
        )
        assert (first.lastrowid, second.lastrowid) == (1, 2)
        many = await connection.execute(
            text("INSERT INTO shops (name, open) VALUES (:name, 1)"),
            [{"name": "Noodles"}, {"name": "Books"}, {"name": "Toys"}],
        )
        assert many.rowcount == 3
        changed = await connection.execute(text("UPDATE shops SET open = 0 WHERE open = 1"))
        assert changed.rowcount == 4
    async with engine.connect() as connection:
        result = await connection.execute(text("SELECT id, name FROM shops ORDER BY id"))
        assert list(result.keys()) == ["id", "name"]
        assert [tuple(row) for row in result] == [
            (1, "Tea"), (2, "Kiosk"), (3, "Noodles"), (4, "Books"), (5, "Toys"),
        ]  # fmt: skip
        returned = await connection.execute(
            text("UPDATE shops SET open = 1 WHERE id = 2 RETURNING name")
        )
        assert returned.scalar_one() == "Kiosk"
        empty = await connection.execute(text("SELECT name FROM shops WHERE id = 99"))
        assert empty.first() is None


async def test_errors_are_sqlalchemys_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO shops (name) VALUES ('Tea')"))
        with pytest.raises(exc.IntegrityError):
            await connection.execute(text("INSERT INTO shops (name) VALUES ('Tea')"))
        with pytest.raises(exc.OperationalError):
            await connection.execute(text("SELECT nothing FROM nowhere"))
        await connection.rollback()
        count = await connection.execute(text("SELECT count(*) FROM shops"))
        assert count.scalar_one() == 0


async def test_what_was_not_committed_is_rolled_back(engine: AsyncEngine) -> None:
    """The adapter skips the pool's rollback only when SQLite says no transaction is open: a
    connection handed back in the middle of one is still rolled back."""
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO shops (name) VALUES ('Tea')"))
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO shops (name) VALUES ('Kiosk')"))
        await connection.commit()
        await connection.execute(text("SELECT count(*) FROM shops"))  # read after the commit
    async with engine.connect() as connection:
        names = await connection.execute(text("SELECT name FROM shops"))
        assert names.scalars().all() == ["Kiosk"]


async def test_writers_from_two_engines_wait_for_each_other(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Two processes on one file: the second writer waits out the first (busy timeout), it does
    not fail, and both rows land."""
    other = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    try:
        async with engine.connect() as holding:
            await holding.execute(text("INSERT INTO shops (name) VALUES ('Tea')"))

            async def write_other() -> None:
                async with other.begin() as connection:
                    await connection.execute(text("INSERT INTO shops (name) VALUES ('Kiosk')"))

            waiting = asyncio.create_task(write_other())
            await asyncio.sleep(0.2)
            assert not waiting.done()  # SQLite's lock holds it, without holding the event loop
            await holding.commit()
            await asyncio.wait_for(waiting, 10)
        async with engine.connect() as connection:
            names = await connection.execute(text("SELECT name FROM shops ORDER BY id"))
            assert names.scalars().all() == ["Tea", "Kiosk"]
    finally:
        await other.dispose()


async def test_the_same_answers_as_the_stock_adapter(engine: AsyncEngine, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}"
    stock = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO shops (name, open) VALUES (:name, :open)"),
                [{"name": f"Shop {n}", "open": n % 2} for n in range(50)],
            )
        query = text("SELECT open, count(*) AS shops, max(name) FROM shops GROUP BY open")
        answers = []
        for built in (engine, stock):
            async with built.connect() as connection:
                result = await connection.execute(query)
                answers.append((list(result.keys()), [tuple(row) for row in result]))
        assert answers[0] == answers[1]
        assert answers[0][1] == [(0, 25, "Shop 8"), (1, 25, "Shop 9")]
    finally:
        await stock.dispose()
