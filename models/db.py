"""The database: async engine, sessions, and migrations to head.

SQLite (the default) gets WAL and a busy timeout so the dispatcher, the tick and the handlers
can write from one process without "database is locked"; PostgreSQL is used as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from . import sqlite_trips

# The package searchbot.migrations (migrations/ in the repository), wherever it is installed:
# an installed wheel migrates its database without the repository.
MIGRATIONS = Path(str(resources.files("searchbot.migrations")))

Sessions = async_sessionmaker[AsyncSession]
OUTBOX_WRITTEN = "outbox_written"
# PostgreSQL: a commit that wrote outbox rows NOTIFYs this channel (delivered at commit, to
# every session that LISTENs: the leading instance's dispatcher, whichever process wrote them).
WAKE_CHANNEL = "searchbot_outbox"
MIGRATION_LOCK = 0x5EA2C5  # advisory lock: instances starting together migrate one at a time


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``, tuned for concurrent use from one process. Statement
    parameters (names, phones, descriptions) never reach a log line or an error message."""
    if not is_sqlite(url):
        return create_async_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
        )
    options: dict[str, Any] = {"connect_args": {"timeout": 30}, "hide_parameters": True}
    if (module := sqlite_trips.dbapi()) is not None:
        options["module"] = module  # a statement is one trip to aiosqlite's thread, not four
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # purged data is zeroed, not left in free space
        cursor.close()

    return engine


async def fold_journal(session: AsyncSession) -> None:
    """SQLite: copy the write-ahead log into the database file and empty it, so rows just
    purged are no longer readable in the ``-wal`` file (PostgreSQL: nothing to do here)."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await session.commit()


def sessions(
    engine: AsyncEngine, after_outbox_commit: Callable[[], None] | None = None
) -> Sessions:
    """Sessions on ``engine``. ``after_outbox_commit`` runs after every commit that wrote
    outbox rows (see ``outbox.mark``): the dispatcher must not look before the rows exist."""

    class _Session(Session):
        pass

    _notify_outbox_commits(_Session)
    if after_outbox_commit is not None:

        @event.listens_for(_Session, "after_commit")
        def _wake(session: Session) -> None:
            if session.info.pop(OUTBOX_WRITTEN, False):
                after_outbox_commit()

        @event.listens_for(_Session, "after_rollback")
        def _forget(session: Session) -> None:
            session.info.pop(OUTBOX_WRITTEN, None)

    return async_sessionmaker(
        engine, class_=AsyncSession, sync_session_class=_Session, expire_on_commit=False
    )


def engine_of(made: Sessions) -> AsyncEngine:
    """The engine ``made``'s sessions are on: for the statements that run per message sent
    (a claim, its settling), where a session costs as much CPU again as the statement."""
    bind = made.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind


def committed_as_run(made: Sessions) -> AsyncEngine:
    """The engine of ``made`` whose statements PostgreSQL commits as it runs them (autocommit),
    for the outbox's claims and the writing back of each send. A claim done but not yet
    committed, by a leader stopped between its statement and its COMMIT, would hold the row's
    lock, then commit it ``sending`` when resumed, after the next leader's recovery had looked,
    and nobody would send it; a write-back left so would make that recovery wait for as long as
    the old leader stayed stopped. A statement that commits itself has no such gap (and saves
    the round trips of BEGIN and COMMIT). SQLite is one process (the gap needs two) and keeps
    its transactions."""
    engine = engine_of(made)
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def _notify_outbox_commits(session_class: type[Session]) -> None:
    """On PostgreSQL, a transaction that wrote outbox rows also NOTIFYs ``WAKE_CHANNEL``: the
    notification is delivered when (and only if) it commits, so the leader, in whatever
    process, looks at the outbox once the rows exist, without asking it again and again."""

    @event.listens_for(session_class, "before_commit")
    def _notify(session: Session) -> None:
        if session.info.get(OUTBOX_WRITTEN):
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"NOTIFY {WAKE_CHANNEL}")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def _heads() -> frozenset[str]:
    """The newest migrations, read from the scripts once per process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent). A database already there is
    told by one query: Alembic's upgrade reads and runs every migration script each time (40
    ms of CPU, at every start of the bot and of every test's bot)."""

    def _upgrade(connection: Connection) -> None:
        if frozenset(MigrationContext.configure(connection).get_current_heads()) == _heads():
            return
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # held until this transaction ends
            await connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        await connection.run_sync(_upgrade)
