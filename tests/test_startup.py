"""Starting where the network is not there yet (issue 25): real ``searchbot run`` processes
whose Bot API or database comes up after them wait, one line a try, with ``/healthz`` saying
why, then serve; a refused token or an unreachable database for the other sub-commands is one
line and exit code 2; a proxy carries every Bot API call. No output holds a traceback, a token
or a password."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Bot

from fakegram import FakeBotApi
from searchbot.models import db
from searchbot.rehearsal import (
    ADMIN_ID,
    CENTRE,
    Player,
    command_room_environment,
    free_port,
    offset,
)
from searchbot.settings import SettingsError, load_settings
from searchbot.telegram.bot_http import AiohttpRequest
from tests.network import ConnectProxy, Relay, Socks5Proxy

TOKEN = "123456:SECRETofTHEbot"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PROXY_USER, PROXY_PASSWORD = "station", "pr0xy-Pa55"


def bot_environment(api: str, database_url: str, **extra: object) -> dict[str, str]:
    """A bot's configuration for the Bot API at ``api`` (``http://HOST:PORT``), retrying at
    start every second at most (the default waits grow to a minute)."""
    values: dict[str, object] = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"{api}/bot",
        "TELEGRAM_API_FILE_URL": f"{api}/file/bot",
        "DATABASE_URL": database_url,
        "SEARCHBOT_ADMIN_IDS": ADMIN_ID,
        "SEARCHBOT_LANGUAGE": "en",
        "SEARCHBOT_ESCALATION": "0:500,1h:1000",
        "SEARCHBOT_CHAT_PER_SECOND": 10,
        "SEARCHBOT_START_RETRY_MAX": 1,
        **extra,
    }
    return {**os.environ, **{name: str(value) for name, value in values.items()}}


class BotProcess:
    """``searchbot run`` in a process of its own, its output in a file the test reads."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder, self.log = env, folder, folder / "bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> BotProcess:
        with self.log.open("ab") as log:  # no .env of the repository: cwd is the test's folder
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "searchbot", "run", *args, env=self.env, cwd=self.folder,
                stdout=log, stderr=log,
            )  # fmt: skip
        return self

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def lines(self, containing: str) -> list[str]:
        return [line for line in self.output.splitlines() if containing in line]

    async def wait_for_lines(self, containing: str, count: int = 1, timeout: float = 60) -> None:
        """A ceiling, not a wait: a process's start took 17 s beside the whole suite."""
        deadline = time.monotonic() + timeout
        while len(self.lines(containing)) < count:
            assert self.process is not None and self.process.returncode is None, self.output
            assert time.monotonic() < deadline, (
                f"no {count} lines of {containing!r}:\n{self.output}"
            )
            await asyncio.sleep(0.05)

    async def exit_code(self, timeout: float = 20) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self, timeout: float = 20) -> int:
        """SIGTERM; the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.exit_code(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


def assert_clean(output: str, *secrets: str) -> None:
    """No traceback, and neither the token nor any password, anywhere in ``output``."""
    assert "Traceback" not in output, output
    for secret in (TOKEN.split(":")[1], *secrets):
        assert secret not in output, f"{secret!r} shown:\n{output}"


def assert_one_line_a_try(lines: list[str]) -> None:
    """Each failed try is a line of its own, numbered 1, 2, 3 ..."""
    assert lines
    for number, line in enumerate(lines, start=1):
        assert f"; try {number}, next in 1 s" in line, line


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.text()


@pytest.mark.slow  # seconds of waiting by design: 6 s on a quiet machine, 15 on a busy one
async def test_the_bot_waits_for_a_bot_api_that_starts_late(
    database_url: str, tmp_path: Path
) -> None:
    """Nothing answers at the Bot API's address when the bot starts: it says so once a try
    (the host, not the token), /healthz answers 503 with that reason; a few seconds later the
    Bot API comes up there and the bot answers /start. /healthz shares the command room's port
    here: the waiting's own server hands the port over to the command room once started."""
    port = free_port()
    room = command_room_environment()
    metrics = room["SEARCHBOT_WEB_LISTEN"].rpartition(":")[2]
    env = bot_environment(
        f"http://127.0.0.1:{port}", database_url, **room,
        SEARCHBOT_METRICS_LISTEN=room["SEARCHBOT_WEB_LISTEN"],
    )  # fmt: skip
    bot = await BotProcess(env, tmp_path).start()
    began = time.monotonic()
    try:
        waiting = f"cannot reach Telegram at 127.0.0.1:{port}: "
        await bot.wait_for_lines(waiting, count=4)  # the first try and three more, a second apart
        status, reason = await get(f"http://127.0.0.1:{metrics}/healthz")
        assert status == 503 and waiting in reason, reason
        assert (await get(f"http://127.0.0.1:{metrics}/api/cases"))[0] == 404  # no room yet
        async with FakeBotApi(token=TOKEN) as fake, Relay(port, ("127.0.0.1", fake.port)):
            came_up = time.monotonic() - began
            await polling(fake)
            family = fake.user(5001, first_name="Mother", language_code="en")
            answer = await Player(fake).says(family, "/start")
            assert "searchbot" in answer.body
            assert (await get(f"http://127.0.0.1:{metrics}/healthz")) == (200, "ok leader\n")
            assert (await get(f"http://127.0.0.1:{metrics}/api/cases"))[0] == 401  # the room's
            print(f"Bot API up {came_up:.1f} s after the bot; /start answered at "
                  f"{time.monotonic() - began:.1f} s")  # fmt: skip
            assert await bot.stop() == 0
            assert fake.violations == []
    finally:
        bot.kill()
    assert came_up >= 3
    assert_one_line_a_try(bot.lines(waiting))
    assert bot.lines(f"reached Telegram at 127.0.0.1:{port} at try ")
    assert_clean(bot.output)


async def test_a_network_lost_in_the_middle_of_the_start_is_waited_for_again(
    database_url: str, tmp_path: Path
) -> None:
    """getMe passes the first try, then the connection of the start's own getMe is closed at
    once: the bot says so in one line, stops what it started, waits, tries again, and serves."""
    port = free_port()
    async with FakeBotApi(token=TOKEN) as fake, Relay(port, ("127.0.0.1", fake.port), {2}):
        bot = await BotProcess(bot_environment(f"http://127.0.0.1:{port}", database_url),
                               tmp_path).start()  # fmt: skip
        try:
            await polling(fake)
            family = fake.user(5001, first_name="Mother", language_code="en")
            assert "searchbot" in (await Player(fake).says(family, "/start")).body
            assert await bot.stop() == 0
        finally:
            bot.kill()
    lost = bot.lines(f"cannot reach Telegram at 127.0.0.1:{port}: ")
    assert len(lost) == 1 and lost[0].endswith("(while starting); trying again in 1 s"), bot.output
    assert len(fake.calls_to("getMe")) >= 2  # the probe's, then the start's after the wait
    assert "Unclosed" not in bot.output  # the failed start's HTTP clients were closed
    assert_clean(bot.output)


async def postgres_answers() -> bool:
    try:
        await _postgres("SELECT 1")
    except Exception:
        return False
    return True


async def _postgres(statement: str) -> None:
    engine = create_async_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.mark.slow  # as the test above, with PostgreSQL
async def test_the_bot_waits_for_a_database_that_starts_late(tmp_path: Path) -> None:
    """PostgreSQL's port refuses when the bot starts (a relay not yet listening): the bot says
    so once a try, naming the database without its password, /healthz says the same; once the
    port forwards to the real server the bot migrates the database and answers /start."""
    if not await postgres_answers():
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust)")
    name = f"startup_late_{os.getpid()}"
    await _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _postgres(f'CREATE DATABASE "{name}"')
    migrated = db.create_engine(f"{POSTGRES}/{name}")  # the bot's own migration: a no-op
    await db.upgrade(migrated)
    await migrated.dispose()
    port, metrics = free_port(), free_port()
    try:
        async with FakeBotApi(token=TOKEN) as fake:
            url = f"postgresql+asyncpg://postgres:db-Pa55word@127.0.0.1:{port}/{name}"
            env = bot_environment(
                f"http://127.0.0.1:{fake.port}", url,
                SEARCHBOT_METRICS_LISTEN=f"127.0.0.1:{metrics}",
            )  # fmt: skip
            bot = await BotProcess(env, tmp_path).start()
            try:
                shown = f"postgresql+asyncpg://postgres:***@127.0.0.1:{port}/{name}"
                waiting = f"cannot reach the database {shown}: ConnectionRefusedError"
                await bot.wait_for_lines(waiting, count=3)
                status, reason = await get(f"http://127.0.0.1:{metrics}/healthz")
                assert status == 503 and waiting in reason, reason
                async with Relay(port, ("127.0.0.1", 5432)):
                    await polling(fake)
                    family = fake.user(5001, first_name="Mother", language_code="en")
                    assert "searchbot" in (await Player(fake).says(family, "/start")).body
                    assert await bot.stop() == 0
            finally:
                bot.kill()
            assert fake.violations == []
    finally:
        await _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert_one_line_a_try(bot.lines(waiting))
    assert bot.lines(f"reached the database {shown} at try ")
    assert_clean(bot.output, "db-Pa55word")


async def test_a_refused_token_stops_the_start_with_one_line(
    database_url: str, tmp_path: Path
) -> None:
    """Telegram answers 401 to the token: no retry, one line naming the host, exit code 2."""
    async with FakeBotApi(token="123456:another") as fake:
        env = bot_environment(f"http://127.0.0.1:{fake.port}", database_url)
        bot = await BotProcess(env, tmp_path).start()
        try:
            assert await bot.exit_code() == 2
        finally:
            bot.kill()
        assert len(fake.calls_to("getMe")) == 1  # tried once, not again
    output = bot.output.strip()
    assert output.count("\n") == 0, output
    assert output.startswith(f"searchbot: Telegram at 127.0.0.1:{fake.port} refused: HTTP 401")
    assert "TELEGRAM_BOT_TOKEN" in output
    assert_clean(output)


async def test_healthz_says_what_the_start_waits_for_and_sigterm_ends_the_wait(
    tmp_path: Path,
) -> None:
    """While the database's port refuses, /healthz answers 503 with that reason (the URL
    without its password); SIGTERM in the middle of the wait ends the process at once, with
    exit code 0. Nothing listens at the database's port: no PostgreSQL is needed."""
    closed, metrics = free_port(), free_port()
    url = f"postgresql+asyncpg://postgres:db-Pa55word@127.0.0.1:{closed}/startup_none"
    env = bot_environment(
        "http://127.0.0.1:9", url, SEARCHBOT_METRICS_LISTEN=f"127.0.0.1:{metrics}",
        SEARCHBOT_START_RETRY_MAX=30,
    )  # fmt: skip
    bot = await BotProcess(env, tmp_path).start()
    try:
        await bot.wait_for_lines("cannot reach the database", count=3)  # waits of 1, 2, then 4 s
        status, reason = await get(f"http://127.0.0.1:{metrics}/healthz")
        assert status == 503
        shown = f"postgresql+asyncpg://postgres:***@127.0.0.1:{closed}/startup_none"
        assert reason.startswith(f"starting: cannot reach the database {shown}: ")
        assert "ConnectionRefusedError" in reason
        asked = time.monotonic()
        assert await bot.stop(timeout=5) == 0
        assert time.monotonic() - asked < 2
    finally:
        bot.kill()
    tries = bot.lines("cannot reach the database")
    assert [line.rsplit("; ", 1)[1] for line in tries] == [
        "try 1, next in 1 s", "try 2, next in 2 s", "try 3, next in 4 s",
    ]  # fmt: skip
    assert_clean(bot.output, "db-Pa55word")


def searchbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchbot", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("command", [["db", "upgrade"], ["stats"], ["purge", "--dry-run"]])
def test_a_database_that_does_not_answer_is_one_line_and_exit_2(
    command: list[str], tmp_path: Path
) -> None:
    closed = free_port()
    url = f"postgresql+asyncpg://postgres:db-Pa55word@127.0.0.1:{closed}/searchbot"
    env = {**os.environ, "DATABASE_URL": url}
    result = searchbot(*command, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith(
        f"searchbot: cannot reach the database postgresql+asyncpg://postgres:***@127.0.0.1:"
        f"{closed}/searchbot: ConnectionRefusedError: "
    ), result.stderr
    assert_clean(result.stdout + result.stderr, "db-Pa55word")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/searchbot"
    result = searchbot("db", "upgrade", "--debug", env={**os.environ, "DATABASE_URL": url},
                       cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "ConnectionRefusedError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("searchbot: cannot reach")


async def polling(fake: FakeBotApi, timeout: float = 60) -> None:
    """Until the bot polls (it deletes any webhook just before): a process's start may take
    seconds on a loaded machine, longer than the Player waits for an answer."""
    await fake.wait_for(lambda: fake.calls_to("deleteWebhook"), timeout=timeout)


async def play_a_search(fake: FakeBotApi) -> None:
    """An officer, a merchant group registered and approved, a family's report with a photo,
    and the alert in the group."""
    player = Player(fake)
    officer = await player.officer()
    await player.group(-1001, "Tea House", offset(CENTRE, 100), officer)
    family = fake.user(5001, first_name="Mother", language_code="en")
    summary = await player.draft_report(family, CENTRE)
    fake.click(family, summary, "Confirm")
    # waited for, not settled on: a bot in another process on a busy machine may answer after
    # the Player's quiet
    opened = await fake.wait_for(
        lambda: next((m for m in fake.messages(family.user_id) if "is open" in m.body), None),
        timeout=30,
    )
    number = re.search(r"#(\d+)", opened.body)
    assert number is not None, opened.body
    case = number.group(1)
    await fake.wait_for(lambda: any(f"#{case}" in m.body for m in fake.messages(-1001)), timeout=20)


async def test_every_bot_api_call_goes_through_an_http_proxy(
    database_url: str, tmp_path: Path
) -> None:
    """TELEGRAM_PROXY=http://USER:PASSWORD@HOST:PORT: a whole search goes through the proxy's
    CONNECT tunnels. The Bot API's address is a closed port that only the proxy routes to the
    fake, so a call that went around the proxy would fail."""
    closed = free_port()
    async with FakeBotApi(token=TOKEN) as fake:
        routes = {("127.0.0.1", closed): ("127.0.0.1", fake.port)}
        async with ConnectProxy(PROXY_USER, PROXY_PASSWORD, routes) as proxy:
            env = bot_environment(
                f"http://127.0.0.1:{closed}", database_url,
                TELEGRAM_PROXY=f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}",
            )  # fmt: skip
            bot = await BotProcess(env, tmp_path).start()
            try:
                await polling(fake)
                await play_a_search(fake)
                assert await bot.stop() == 0
            finally:
                bot.kill()
    traffic = proxy.traffic
    assert traffic.tunnels >= 1 and traffic.refused == 0
    assert set(traffic.asked) == {("127.0.0.1", closed)}
    assert traffic.up > 2000 and traffic.down > 2000, traffic  # the calls and their answers
    assert fake.calls_to("sendPhoto") and fake.violations == []
    print(f"{len(fake.calls)} calls in {traffic.tunnels} tunnels, {traffic.up} B up, "
          f"{traffic.down} B down")  # fmt: skip
    assert_clean(bot.output, PROXY_PASSWORD)


async def test_a_socks5_proxy_with_a_password_carries_the_bot(
    database_url: str, tmp_path: Path
) -> None:
    closed = free_port()
    async with FakeBotApi(token=TOKEN) as fake:
        routes = {("127.0.0.1", closed): ("127.0.0.1", fake.port)}
        async with Socks5Proxy(PROXY_USER, PROXY_PASSWORD, routes) as proxy:
            env = bot_environment(
                f"http://127.0.0.1:{closed}", database_url,
                TELEGRAM_PROXY=f"socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}",
            )  # fmt: skip
            bot = await BotProcess(env, tmp_path).start()
            try:
                await polling(fake)
                family = fake.user(5001, first_name="Mother", language_code="en")
                assert "searchbot" in (await Player(fake).says(family, "/start")).body
                assert await bot.stop() == 0
            finally:
                bot.kill()
    assert proxy.traffic.tunnels >= 1 and proxy.traffic.refused == 0
    assert set(proxy.traffic.asked) == {("127.0.0.1", closed)}
    assert fake.violations == []
    assert_clean(bot.output, PROXY_PASSWORD)


async def test_a_file_download_goes_through_the_proxy() -> None:
    """python-telegram-bot downloads files with the bot's request object: the proxy's."""
    closed = free_port()
    async with FakeBotApi(token=TOKEN) as fake:
        routes = {("127.0.0.1", closed): ("127.0.0.1", fake.port)}
        async with ConnectProxy(PROXY_USER, PROXY_PASSWORD, routes) as proxy:
            fake.send(fake.user(5001, first_name="Mother"), photo=True)
            stored = next(iter(fake.files.values()))
            request = AiohttpRequest(
                proxy=f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
            )
            bot = Bot(
                TOKEN, base_url=f"http://127.0.0.1:{closed}/bot",
                base_file_url=f"http://127.0.0.1:{closed}/file/bot", request=request,
            )  # fmt: skip
            async with bot:
                data = await (await bot.get_file(stored.file_id)).download_as_bytearray()
    assert len(data) > 0 and data[:2] == b"\xff\xd8"  # a JPEG, fetched through the tunnel
    assert proxy.traffic.tunnels >= 1 and proxy.traffic.refused == 0


@pytest.mark.parametrize(
    "value",
    [
        "socks4://127.0.0.1:1080",
        "http://station:pr0xy-Pa55@proxy.example",  # no port
        "ftp://station:pr0xy-Pa55@proxy.example:21",
        "http://station:pr0xy-Pa55@proxy.example:99999",
        "proxy.example:3128",
        "http://station:pr0xy-Pa55@proxy.example:3128/path",
    ],
)
def test_a_bad_proxy_names_the_variable_not_the_password(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TELEGRAM_PROXY", value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value).startswith("TELEGRAM_PROXY: expected http://, https:// or socks5://")
    assert PROXY_PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    "value",
    ["http://127.0.0.1:3128", "https://u:p@proxy.example:443", "socks5://u:p%40ss@h:1080",
     "socks5h://h:1080", " "],
)  # fmt: skip
def test_good_proxies_pass(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TELEGRAM_PROXY", value)
    assert load_settings(_env_file=None).telegram_proxy == (value.strip() or None)


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("TELEGRAM_PROXY", "socks4://u:pr0xy-Pa55@127.0.0.1:1080", "expected http://"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org/bot", "expected an http(s) URL"),
        ("DATABASE_URL", "postgres://u:db-Pa55word@h/searchbot", "unknown kind 'postgres'"),
        ("DATABASE_URL", "sqlite:///searchbot.db", "not an asynchronous driver"),
        ("DATABASE_URL", "postgresql+asyncpg://u:db-Pa55word@h:port/x", "not a database URL"),
    ],
)
def test_a_malformed_url_stops_the_start_with_one_line(
    tmp_path: Path, variable: str, value: str, complaint: str
) -> None:
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": TOKEN, variable: value}
    result = searchbot("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"configuration error: {variable}: " in result.stderr and complaint in result.stderr
    assert_clean(result.stderr, PROXY_PASSWORD, "db-Pa55word")
