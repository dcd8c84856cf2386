"""SQLite statements in one trip to the driver's thread.

aiosqlite runs each connection's calls on a thread of its own, and SQLAlchemy's adapter makes a
trip there for every cursor call: open a cursor, execute, fetch the rows, close it, and roll
back an idle connection when the pool takes it back. Each trip wakes the thread and then the
event loop (a pipe write and an epoll wake): about a hundred microseconds of CPU, four or five
times a statement, more than SQLite spends answering the small queries the bot makes (the
dispatcher reads its outbox after every send). Here one trip executes the statement, fetches its
rows and closes the cursor; a connection with no open transaction is not rolled back.

This leans on two libraries' private parts (SQLAlchemy's asyncio adapter classes, aiosqlite's
``Connection._execute``), so :func:`dbapi` checks that they are there and returns None when they
are not: the engine then uses the stock adapter, slower and otherwise the same.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
from typing import Any

log = logging.getLogger(__name__)

try:  # the parts this leans on (see the module's docstring)
    import aiosqlite
    from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
    from sqlalchemy.dialects.sqlite.aiosqlite import (
        AsyncAdapt_aiosqlite_connection,
        AsyncAdapt_aiosqlite_cursor,
        AsyncAdapt_aiosqlite_dbapi,
    )
    from sqlalchemy.util import EMPTY_DICT
    from sqlalchemy.util.concurrency import await_

    _PARTS = all(hasattr(aiosqlite.Connection, name) for name in ("_execute", "stop")) and all(
        hasattr(AsyncAdapt_aiosqlite_cursor, name)
        for name in ("_execute_async", "_executemany_async", "_soft_closed_memoized")
    )
except ImportError:  # pragma: no cover - an incompatible SQLAlchemy or aiosqlite
    _PARTS = False


class _Finished:
    """What SQLAlchemy reads off a cursor after its statement ran (the real one is closed)."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self) -> None:
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def close(self) -> None:
        """Closed in the same trip as the statement ran."""


def _execute(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> tuple[Any, int, int | None, list[Any] | None, bool]:
    """Runs on aiosqlite's thread: the whole statement, then what SQLAlchemy asks of it."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return (
            cursor.description,
            cursor.rowcount,
            cursor.lastrowid,
            rows,
            connection.in_transaction,
        )
    finally:
        cursor.close()


if _PARTS:

    class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
        __slots__ = ()
        _awaitable_cursor_close = False  # nothing left to close: see _Finished

        def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
            # No trip to open a cursor: the statement opens and closes its own.
            self._adapt_connection = adapt_connection
            self._connection = adapt_connection._connection
            self._cursor = _Finished()  # type: ignore[assignment]
            self._soft_closed_memoized = EMPTY_DICT
            self._rows = collections.deque()

        async def _execute_async(self, operation: Any, parameters: Any) -> None:
            await self._run(operation, parameters, many=False)

        async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
            await self._run(operation, seq_of_parameters, many=True)

        async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
            adapted: _OneTripConnection = self._adapt_connection  # type: ignore[assignment]
            driver: Any = adapted._connection  # an aiosqlite.Connection
            async with adapted._execute_mutex:
                outcome = await driver._execute(_execute, driver._conn, operation, parameters, many)
            description, rowcount, lastrowid, rows, adapted.in_transaction = outcome
            finished: _Finished = self._cursor  # type: ignore[assignment]
            finished.description = description
            finished.rowcount, finished.lastrowid = rowcount, lastrowid
            if rows is not None:
                self._rows = collections.deque(rows)

    class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
        __slots__ = ("in_transaction",)
        _cursor_cls = _OneTripCursor

        def __init__(self, dbapi: Any, connection: Any) -> None:
            super().__init__(dbapi, connection)
            self.in_transaction = False  # as SQLite said after the last statement

        def rollback(self) -> None:
            if self.in_transaction:  # the pool rolls back every connection it takes back
                super().rollback()
                self.in_transaction = False

        def commit(self) -> None:
            super().commit()
            self.in_transaction = False

    class _OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
        def connect(self, *arg: Any, **kw: Any) -> _OneTripConnection:
            connection = self.aiosqlite.connect(*arg, **kw)
            connection._thread.daemon = True  # as SQLAlchemy's adapter does
            return _OneTripConnection(self, await_(connection))


def dbapi() -> Any | None:
    """The DB-API module for ``create_async_engine(..., module=)``; None when this SQLAlchemy or
    aiosqlite lacks what it needs (the stock adapter is used)."""
    if not _PARTS:
        log.info("SQLite statements use the stock aiosqlite adapter")
        return None
    return _OneTripDbapi(aiosqlite, sqlite3)
