"""The bot's HTTP client for Bot API calls: python-telegram-bot's requests over aiohttp.

A crowd costs one Bot API call per person (every pressed button must be answered), so the cost
of a call is the cost of a crowd. Measured on the development machine against the fake Bot API,
python-telegram-bot's default client (httpx) spent about 1.5 ms of CPU per call, aiohttp (already
the web server's library) about 0.2 ms: with two hundred presses a second on one event loop,
that is the difference between keeping up and falling behind.

Same contract as PTB's ``HTTPXRequest``: parameters go form-encoded (multipart when a file is
uploaded), timeouts raise ``TimedOut`` and connection trouble ``NetworkError``.

One exception, the answer to a pressed button (answerCallbackQuery): it is sent without waiting
for Telegram's reply, on connections of its own. A crowd's presses are answered as fast as they
are handled: a handler does not hold its place for the call's round trip (30 ms and more), and
two hundred answers in flight do not queue behind the pool's other calls or hold them back. The
handler learns nothing it could act on by waiting: an answer either shows its toast or fails
because the press is too old, which the handler ignores all the same (Telegram's own fastest
way, an answer in the webhook's HTTP response, tells the bot nothing either). A failure is
logged; shutting down waits for the answers still on their way.

With ``TELEGRAM_PROXY`` (where Telegram is blocked) every connection of both sessions, file
downloads included, is tunnelled through the proxy (aiohttp-socks): an http(s) proxy by CONNECT,
a SOCKS5 one with the proxy resolving Telegram's name (the local resolver may be the very thing
that lies about it).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import aiohttp
import python_socks
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from searchbot.telegram.lean_updates import handled_apart, trimmed

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
SENT_BLIND = ("answerCallbackQuery",)  # methods sent without waiting for the reply (see above)
BLIND_POOL_SIZE = 128  # connections for those: 240 answers at 30 ms each leave within 60 ms
Body = aiohttp.FormData | aiohttp.JsonPayload | None
BLIND_RESULT = b'{"ok":true,"result":true}'  # what Telegram answers to them when all is well
SHUTDOWN_WAIT = 5.0  # seconds shutting down waits for answers still on their way


class AiohttpRequest(BaseRequest):
    """One aiohttp session with up to ``pool_size`` connections, and one with up to
    ``blind_pool_size`` for the calls sent without waiting (answers to pressed buttons)."""

    def __init__(
        self,
        pool_size: int = 32,
        pool_timeout: float = 10.0,
        read_timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_TIMEOUT,
        blind_pool_size: int = BLIND_POOL_SIZE,
        proxy: str | None = None,
    ) -> None:
        self._proxy = proxy
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._blind_pool_size = blind_pool_size
        self._session: aiohttp.ClientSession | None = None
        self._blind_session: aiohttp.ClientSession | None = None
        self._blind_calls: set[asyncio.Task[None]] = set()
        # Updates read from a getUpdates answer go to ``take`` first (``lean_updates``): what it
        # handles there (a crowd's press) python-telegram-bot never parses. The composition
        # root sets it once the bot knows who it is.
        self.take: Callable[[dict[str, Any]], bool] | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = self._new_session(self._pool_size)
        if self._blind_session is None or self._blind_session.closed:
            self._blind_session = self._new_session(self._blind_pool_size)

    def _new_session(self, connections: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector(connections, self._proxy),
            headers={"User-Agent": self.USER_AGENT},
        )

    async def shutdown(self) -> None:
        if self._blind_calls:  # answers on their way still reach the people who pressed
            await asyncio.wait(self._blind_calls, timeout=SHUTDOWN_WAIT)
        for session in (self._session, self._blind_session):
            if session is not None and not session.closed:
                await session.close()
        self._session = self._blind_session = None

    def parse_json_payload(self, payload: bytes) -> JSONDict:  # type: ignore[override]
        """As python-telegram-bot parses it, with pressed buttons' messages trimmed
        (``lean_updates``: their photos and captions were a crowd's CPU)."""
        payload = trimmed(BaseRequest.parse_json_payload(payload))
        if self.take is not None:
            payload = handled_apart(payload, self.take)
        return cast("JSONDict", payload)

    def post_blind(self, url: str, values: dict[str, Any]) -> None:
        """A call sent without waiting (see the module's docstring), made without
        python-telegram-bot: an answer to a press handled as its update was read."""
        if self._blind_session is None or self._blind_session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = _timeout(
            self._read_timeout, DEFAULT_TIMEOUT, self._connect_timeout, self._pool_timeout
        )
        call = self._call(self._blind_session, "POST", url, aiohttp.JsonPayload(values), timeout)
        self._sent_blind(call, url)

    @property
    def blind_calls(self) -> int:
        """Calls sent without waiting that are still on their way."""
        return len(self._blind_calls)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = _value(read_timeout, self._read_timeout)
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, self._pool_timeout)
        uploading = request_data is not None and request_data.contains_files
        write = _value(write_timeout, MEDIA_WRITE_TIMEOUT if uploading else DEFAULT_TIMEOUT)
        timeout = _timeout(read, write, connect, pool)
        body = _body(request_data)
        if url.rsplit("/", 1)[-1] in SENT_BLIND and self._blind_session is not None:
            self._sent_blind(self._call(self._blind_session, method, url, body, timeout), url)
            return 200, BLIND_RESULT
        return await self._call(self._session, method, url, body, timeout)

    def _sent_blind(self, call: Awaitable[tuple[int, bytes]], url: str) -> None:
        task = asyncio.create_task(_logged(call, url.rsplit("/", 1)[-1]))
        self._blind_calls.add(task)
        task.add_done_callback(self._blind_calls.discard)

    @staticmethod
    async def _call(
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        body: Body,
        timeout: aiohttp.ClientTimeout,
    ) -> tuple[int, bytes]:
        try:
            async with session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except (TimeoutError, ProxyTimeoutError) as error:
            raise TimedOut from error
        except (aiohttp.ClientError, ProxyConnectionError, ProxyError) as error:
            raise NetworkError(f"{type(error).__name__}: {error}") from error


def connector(limit: int, proxy: str | None = None) -> aiohttp.TCPConnector:
    """Up to ``limit`` connections, straight or through ``proxy`` (a URL that the settings
    checked: ``http``, ``https``, ``socks5`` or ``socks5h``, a host and a port)."""
    if proxy is None:
        return aiohttp.TCPConnector(limit=limit)
    parts = urlsplit(proxy)
    assert parts.hostname and parts.port, "TELEGRAM_PROXY is checked by the settings"
    socks = parts.scheme.startswith("socks5")
    return ProxyConnector(
        proxy_type=python_socks.ProxyType.SOCKS5 if socks else python_socks.ProxyType.HTTP,
        host=parts.hostname,
        port=parts.port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        rdns=True,  # the proxy resolves Telegram's name (socks5 and socks5h alike)
        proxy_ssl=ssl.create_default_context() if parts.scheme == "https" else None,
        limit=limit,
    )


async def _logged(call: Awaitable[tuple[int, bytes]], name: str) -> None:
    """Await a call nobody waits for; say when it failed (Telegram's description carries no
    personal data: "query is too old", "Too Many Requests")."""
    try:
        status, body = await call
    except TelegramError as error:
        log.warning("%s failed: %s", name, error)
        return
    if status != 200:
        log.warning("%s failed: HTTP %s %s", name, status, body[:200].decode(errors="replace"))


def _timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    # aiohttp has no write timeout: sending the body counts against the whole call instead
    return aiohttp.ClientTimeout(
        total=None if read is None else read + (write or 0) + (connect or 0) + (pool or 0),
        connect=None if connect is None and pool is None else (connect or 0) + (pool or 0),
        sock_connect=connect,
        sock_read=read,
    )


def _value(given: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


def _body(request_data: RequestData | None) -> Body:
    """A JSON object, or form fields as multipart when files go along. JSON is encoded in one
    go by the standard library's C encoder (aiohttp's form builder cost a fifth of an answer's
    CPU; percent-encoding a long caption, character by character, a fifth of an alert's)."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return aiohttp.JsonPayload(request_data.parameters)
    fields = request_data.json_parameters
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


__all__ = ["AiohttpRequest"]
