"""The bot's HTTP client for Bot API calls: python-telegram-bot's requests over aiohttp.

A crowd costs one Bot API call per person (every pressed button must be answered), so the cost
of a call is the cost of a crowd. Measured on the development machine against the fake Bot API,
python-telegram-bot's default client (httpx) spent about 1.5 ms of CPU per call, aiohttp (already
the web server's library) about 0.2 ms: with two hundred presses a second on one event loop,
that is the difference between keeping up and falling behind.

Same contract as PTB's ``HTTPXRequest``: parameters go form-encoded (multipart when a file is
uploaded), timeouts raise ``TimedOut`` and connection trouble ``NetworkError``.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

DEFAULT_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0


class AiohttpRequest(BaseRequest):
    """One aiohttp session with up to ``pool_size`` connections."""

    def __init__(
        self,
        pool_size: int = 32,
        pool_timeout: float = 10.0,
        read_timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

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
        # aiohttp has no write timeout: sending the body counts against the whole call instead
        timeout = aiohttp.ClientTimeout(
            total=None if read is None else read + (write or 0) + (connect or 0) + (pool or 0),
            connect=None if connect is None and pool is None else (connect or 0) + (pool or 0),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _value(given: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Form fields, as multipart when files go along."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


__all__ = ["AiohttpRequest"]
