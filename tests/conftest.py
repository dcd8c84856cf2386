"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when TEST_DATABASE_URL is
set), the fake Bot API server on a real socket, and the real bot wired to both."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from fakegram import FakeBotApi
from searchbot import db
from searchbot.db import Sessions
from tests.world import World, world_settings


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    await reset_postgres(url)
    yield url


async def reset_postgres(url: str) -> None:
    """An empty public schema, so migrations (not metadata.create_all) build every table."""
    engine = db.create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    """The migrated database alone, for use cases tested without the bot around them."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
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
