"""Fixtures: a freshly migrated database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), the fake Bot API server on a real socket, and the real bot wired to
both.

The migrations run once per test session (per xdist worker), not once per test: SQLite tests get
a copy of a migrated template file, PostgreSQL tests the migrated schema with every table
emptied. tests/test_migrations.py still builds the schema from nothing (``empty_database_url``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from fakegram import FakeBotApi
from searchbot.models import db
from searchbot.models.db import Sessions
from tests.world import World, world_settings

KEPT = {"alembic_version"}  # emptied between tests: every table but the migrations' record
# The tables a fresh migration leaves on PostgreSQL (set once per worker): a test that breaks the
# schema on purpose (drops a table to make a handler fail) must not break the tests after it.
MIGRATED_TABLES: set[str] = set()


def postgres_url() -> str | None:
    """TEST_DATABASE_URL, or under pytest-xdist one database per worker beside it (``test`` ->
    ``test_gw0``): two workers must not empty each other's tables."""
    url = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


async def create_postgres_database(url: str) -> None:
    """Create the database of ``url`` unless it exists (from the server's ``postgres`` db)."""
    parsed = make_url(url)
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            )
            if not found:
                await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await engine.dispose()


async def reset_postgres(url: str) -> None:
    """An empty public schema, so migrations (not metadata.create_all) build every table."""
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def migrate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


async def public_tables(url: str) -> set[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as connection:
            query = text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return set((await connection.scalars(query)).all())
    finally:
        await engine.dispose()


async def empty_postgres(url: str) -> None:
    """The migrated schema with no rows and every sequence back at 1, as a fresh migration
    leaves it (the migrations insert no rows). Migrated anew if an earlier test (the
    migrations' own, or one that dropped a table) left it in another state."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            tables = (
                await connection.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).all()
            if "alembic_version" in tables:
                current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            else:
                current = None
        if current != _head() or set(tables) != MIGRATED_TABLES:
            await reset_postgres(url)
            await migrate(url)
            return
        emptied = ", ".join(f'"{name}"' for name in sorted(set(tables) - KEPT))
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {emptied} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert head is not None
    return head


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests shared out, first in each worker's share: pytest-xdist's worksteal gives
    worker k the k-th contiguous slice of this list (each as long as what is left, divided by
    the workers left), and takes stolen tests from a slice's end. Slow tests bunched in one
    slice ran last, on whichever workers stole them, and the whole run waited for them.

    The Mini App's tests come first of all, in the first two slices (the browsers' in one, the
    rest in the other): each process that checks init data imports aiogram once, 3 s of CPU,
    and spread over every worker that was a tenth of the suite's CPU."""
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in items:
        if item.get_closest_marker("mini_app"):
            browser = "browser" in item.nodeid
            heads[0 if browser or workers == 1 else 1].append(item)
    grouped = {id(item) for head in heads for item in head}
    slow = [i for i in items if i.get_closest_marker("slow") and id(i) not in grouped]
    rest = [i for i in items if not i.get_closest_marker("slow") and id(i) not in grouped]
    ordered: list[pytest.Item] = []
    left = len(items)
    for worker in range(workers):
        share = left // (workers - worker)
        first = heads[worker] + slow[worker::workers]
        take = max(0, share - len(first))
        ordered += first + rest[:take]
        rest = rest[take:]
        left -= len(first) + take
    items[:] = ordered + rest


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """SQLite: one database file migrated to head, copied by each test. PostgreSQL: the
    worker's database, created if missing and migrated (None)."""
    url = postgres_url()
    if url:
        asyncio.run(create_postgres_database(url))
        asyncio.run(reset_postgres(url))
        asyncio.run(migrate(url))
        MIGRATED_TABLES.update(asyncio.run(public_tables(url)))
        yield None
        return
    template = tmp_path_factory.mktemp("template") / "migrated.db"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{template}"))  # closing folds the WAL into it
    yield template


@pytest.fixture
async def database_url(tmp_path: Path, migrated_template: Path | None) -> AsyncIterator[str]:
    """A database at the newest migration with no rows in it."""
    url = postgres_url()
    if url:
        await empty_postgres(url)
        yield url
        return
    assert migrated_template is not None
    copy = tmp_path / "test.db"
    shutil.copyfile(migrated_template, copy)
    yield f"sqlite+aiosqlite:///{copy}"


@pytest.fixture
async def empty_database_url(tmp_path: Path, migrated_template: Path | None) -> AsyncIterator[str]:
    """A database with no tables at all, for the migrations themselves."""
    url = postgres_url()
    if not url:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    await reset_postgres(url)
    yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    """The migrated database alone, for use cases tested without the bot around them."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)  # a no-op at head; kept so that the fixture stands on its own
    try:
        yield db.sessions(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token="123456:TEST", bot_username="searchbot_test_bot") as server:
        yield server


@pytest.fixture
async def world(fake: FakeBotApi, database_url: str) -> AsyncIterator[World]:
    settings = world_settings(fake, database_url)
    async with World(fake, settings) as running:
        yield running
