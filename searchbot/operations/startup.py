"""Starting where the network is not there yet.

A station's uplink may come up a minute after the machine, its PostgreSQL after the bot. At
start ``searchbot run`` tries what it needs (the database, then Telegram) and, while one does not
answer, says so in one line a try (what it tried and why it failed: never a token, never a
password) and tries again after 1, 2, 4 ... 60 seconds. What answers "no" (a refused token, a
wrong password, a database that does not exist) is not tried again: waiting changes nothing, so
the start stops with one line. The other sub-commands do not wait: one line and exit code 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the second try; each wait doubles up to the settings' cap
# PostgreSQL's error classes that pass: connection trouble (08), not enough resources (53: too
# many connections), operator intervention (57P: shutting down, starting up, in recovery)
PASSING_STATES = ("08", "53", "57P")

Report = Callable[[str | None], None]  # what the start waits for now (None: nothing)


class Unreachable(Exception):
    """``what`` does not answer (yet): no route, refused, no name, no answer in time, TLS, a
    server error. Worth trying again."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"cannot reach {what}: {reason}")
        self.what, self.reason = what, reason


class Refused(Exception):
    """``what`` answered, and said no: trying again will not help."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} refused: {reason}")
        self.what, self.reason = what, reason


def delays(cap: float = 60.0) -> Iterator[float]:
    """Seconds between tries: 1, 2, 4 ... then ``cap`` for ever."""
    delay = FIRST_DELAY
    while True:
        yield min(delay, cap)
        delay = min(delay * 2, cap)


async def keep_trying(
    what: str,
    probe: Callable[[], Awaitable[None]],
    stopping: asyncio.Event,
    report: Report,
    cap: float = 60.0,
    debug: bool = False,
) -> bool:
    """Run ``probe`` until it passes (True) or ``stopping`` is set (False, at once, even in the
    middle of a try). Each failed try is one log line (with its traceback only under
    ``--debug``) and is reported to ``/healthz``; ``Refused`` goes up to the caller."""
    for tries, delay in enumerate(delays(cap), start=1):
        try:
            if not await _unless_stopping(probe(), stopping):
                return False
        except Unreachable as trouble:
            log.warning("%s; try %d, next in %g s", trouble, tries, delay, exc_info=debug)
            report(str(trouble))
            if await stopped_within(stopping, delay):
                return False
            continue
        if tries > 1:
            log.info("reached %s at try %d", what, tries)
        return True
    raise AssertionError("delays() never ends")


async def _unless_stopping(probe: Awaitable[None], stopping: asyncio.Event) -> bool:
    """Await ``probe`` unless ``stopping`` is set first (then cancel it and say False)."""
    trying = asyncio.ensure_future(probe)
    waiting = asyncio.ensure_future(stopping.wait())
    await asyncio.wait((trying, waiting), return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if not trying.done():
        trying.cancel()
        with contextlib.suppress(BaseException):  # a try given up: how it ended is no news
            await trying
        return False
    trying.result()  # raises what the probe raised
    return True


async def stopped_within(stopping: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less if ``stopping`` is set: then True."""
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return False
    return True


def database_shown(engine: AsyncEngine) -> str:
    """The database as a log line may name it: its URL without the password."""
    return f"the database {engine.url.render_as_string(hide_password=True)}"


async def reach_database(engine: AsyncEngine) -> None:
    """One connection and ``SELECT 1``; ``Unreachable`` or ``Refused`` when that fails."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:
        trouble = database_trouble(error, database_shown(engine))
        if trouble is None:
            raise
        raise trouble from error


def database_trouble(error: BaseException, what: str) -> Unreachable | Refused | None:
    """What ``error`` says about reaching the database: ``Unreachable`` (refused connection, no
    such host, no answer in time, a server starting up or shutting down), ``Refused`` (it
    answered no: a wrong password, no such database or role, a file that cannot be opened), or
    None when it is not about reaching it."""
    if isinstance(error, OSError):  # refused, no route, no name (gaierror), TimeoutError
        return Unreachable(what, _reason(error))
    if not isinstance(error, DBAPIError):
        return None
    driver = error.orig if error.orig is not None else error
    state = str(getattr(driver, "sqlstate", None) or "")
    # SQLAlchemy's adapter of asyncpg calls each error "Error": the driver's own names it better
    named = driver.__cause__ if isinstance(driver.__cause__, Exception) else driver
    if state.startswith(PASSING_STATES):
        return Unreachable(what, _reason(named))
    return Refused(what, _reason(named))


def _reason(error: BaseException) -> str:
    """The error in one line: its kind and message (drivers' messages carry no password)."""
    message = " ".join(str(error).split()) or repr(error)
    return f"{type(error).__name__}: {message}"
