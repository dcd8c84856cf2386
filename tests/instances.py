"""Helpers for the tests of several instances (tests/test_instances.py): real ``searchbot run``
processes on a PostgreSQL database of their own, a TCP relay that can cut them off from
PostgreSQL, and what the tests read from the fake Bot API and each process's /healthz and
/metrics.

Every process a test starts is ended by the fixture that made it (SIGCONT first, for one left
stopped); nothing here touches a process or a database it did not create.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from fakegram import FakeBotApi
from searchbot.models import db
from searchbot.rehearsal import ADMIN_ID, CENTRE, free_port, offset, seed_groups

REPO = Path(__file__).resolve().parent.parent
POSTGRES = "127.0.0.1", 5432


def postgres_base() -> str | None:
    return os.environ.get("TEST_DATABASE_URL")


def database_named(name: str) -> str:
    base = postgres_base()
    assert base is not None
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    base = postgres_base()
    assert base is not None
    url = make_url(base).set(database="postgres")
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def own_database() -> AsyncIterator[str]:
    """A fresh, migrated database ``ha_<random>`` for one test, dropped after it (with any
    session still open to it, e.g. a process the test left stopped)."""
    name = f"ha_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = database_named(name)
    try:
        engine = db.create_engine(url)
        await db.upgrade(engine)
        await engine.dispose()
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bot_environment(fake: FakeBotApi, database_url: str, **overrides: object) -> dict[str, str]:
    values: dict[str, object] = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_API_FILE_URL": fake.file_url,
        "DATABASE_URL": database_url,
        "SEARCHBOT_ADMIN_IDS": str(ADMIN_ID),
        "SEARCHBOT_ESCALATION": "0:5000,1h:6000",
        "SEARCHBOT_LANGUAGE": "en",
        "SEARCHBOT_TICK_SECONDS": 1,
        **overrides,
    }
    return {**os.environ, **{name: str(value) for name, value in values.items()}}


class Bot:
    """One ``searchbot run`` process with its own /healthz and /metrics port."""

    def __init__(self, name: str, env: dict[str, str], log: Path, webhook: str | None) -> None:
        self.name, self.log, self.webhook = name, log, webhook
        self.metrics_port = free_port()
        self.env = {**env, "SEARCHBOT_METRICS_LISTEN": f"127.0.0.1:{self.metrics_port}"}
        self.process: asyncio.subprocess.Process | None = None
        self.stopped = False

    async def start(self) -> Bot:
        args = ["--webhook", self.webhook] if self.webhook else []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "searchbot", "run", *args,
            env=self.env, cwd=REPO, stdout=asyncio.subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def health(self) -> tuple[int, str]:
        """(status, body) of /healthz; (0, "") while nothing answers."""
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"http://127.0.0.1:{self.metrics_port}/healthz")
        except httpx.HTTPError:
            return 0, ""
        return response.status_code, response.text

    async def role(self) -> str:
        status, body = await self.health()
        return body.split()[-1] if status == 200 and body.startswith("ok ") else f"{status}"

    async def metric(self, name: str) -> float:
        async with httpx.AsyncClient(timeout=2.0) as client:
            body = (await client.get(f"http://127.0.0.1:{self.metrics_port}/metrics")).text
        found = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", body, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    async def sends(self) -> float:
        """Bot API sends this process made, every result counted."""
        async with httpx.AsyncClient(timeout=2.0) as client:
            body = (await client.get(f"http://127.0.0.1:{self.metrics_port}/metrics")).text
        return sum(
            float(value)
            for value in re.findall(r"^searchbot_sends_total\{[^}]*\} (\S+)$", body, re.M)
        )

    async def wait_role(self, role: str, timeout: float) -> float:
        """Seconds until /healthz names ``role`` (checked every 50 ms)."""
        started = time.monotonic()
        while await self.role() != role:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{self.name} is not {role} after {timeout}s:\n{self.tail()}")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def send_signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.stopped = signum == signal.SIGSTOP

    async def terminate(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (SIGCONT first if stopped), then SIGKILL if it does not end in time."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        with contextlib.suppress(ProcessLookupError):
            if self.stopped:
                self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Fleet:
    """The bot processes of one test; all ended when it ends."""

    def __init__(self, fake: FakeBotApi, database_url: str, folder: Path, **env: object) -> None:
        self.fake, self.database_url, self.folder, self.env = fake, database_url, folder, env
        self.bots: list[Bot] = []

    async def start(self, name: str, webhook: str | None = None, **env: object) -> Bot:
        bot = Bot(
            name, bot_environment(self.fake, self.database_url, **{**self.env, **env}),
            self.folder / f"{name}.log", webhook,
        )  # fmt: skip
        self.bots.append(bot)
        return await bot.start()

    async def close(self) -> None:
        await asyncio.gather(*(bot.terminate() for bot in self.bots))


class Relay:
    """A TCP relay on 127.0.0.1 in front of PostgreSQL. ``cut`` closes every connection through
    it and refuses new ones (PostgreSQL unreachable for the bot); ``restore`` opens it again on
    the same port."""

    def __init__(self, target: tuple[str, int] = POSTGRES) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._pipes):
            writer.transport.abort()  # a reset, as when the network or the server goes
        self._pipes.clear()
        if server is not None:
            await server.wait_closed()

    def url(self, database_url: str) -> str:
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(False)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._pipes.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._pipes.discard(writer)
            writer.transport.abort()


async def seed_ring(database_url: str, fake: FakeBotApi, count: int) -> None:
    """``count`` approved groups around the centre, nearest first by chat id (-5000, -5001...)."""
    points = [offset(CENTRE, 40 + 8 * i, (i % 2) * 10) for i in range(count)]
    engine = db.create_engine(database_url)
    try:
        await seed_groups(db.sessions(engine), fake, points)
    finally:
        await engine.dispose()


def alert_calls(fake: FakeBotApi, by_arrival: bool = False) -> list[int]:
    """The groups that got an alert photo, one entry a call, in the order the calls ended (or
    arrived)."""
    calls = [
        call
        for call in fake.calls
        if call.method == "sendPhoto" and call.ok and int(call.params["chat_id"]) < 0
    ]
    if by_arrival:
        calls.sort(key=lambda call: call.at)
    return [int(call.params["chat_id"]) for call in calls]


def duplicates(fake: FakeBotApi) -> int:
    return sum(n - 1 for n in Counter(alert_calls(fake)).values())


def conflicts(fake: FakeBotApi) -> int:
    """getUpdates refused with 409 (two pollers at once)."""
    return sum(1 for call in fake.calls_to("getUpdates") if call.error_code == 409)


async def unsent_rows(database_url: str) -> list[str]:
    """The outbox rows not sent, as a failure message shows them: which rows an instance left
    behind, and in what state (a lost alert's row says where it stopped)."""
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT id, kind, chat_id, status, attempts, next_attempt_at, last_error "
                    "FROM outbox WHERE status <> 'sent' ORDER BY id"
                )
            )
            return [str(tuple(row)) for row in rows]
    finally:
        await engine.dispose()
