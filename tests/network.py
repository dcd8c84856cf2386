"""A network that comes up late, and proxies, for the start-up tests: asyncio servers of a few
lines each, on 127.0.0.1 only.

- ``Relay``: a port that refuses connections until ``start()``, then forwards each to a target
  port (a Bot API or a PostgreSQL "started after the bot").
- ``ConnectProxy``: an HTTP proxy that tunnels with CONNECT, with Basic authentication.
- ``Socks5Proxy``: a SOCKS5 proxy (RFC 1928) with username and password (RFC 1929).

The proxies map the address asked for to the one they connect to (``routes``): a bot told to
reach the Bot API at a port where nothing listens gets there only through the proxy, so every
call it makes is seen to pass it. They connect to nothing but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
from dataclasses import dataclass, field
from typing import Self

Address = tuple[str, int]
LOCAL = "127.0.0.1"


@dataclass
class Traffic:
    """What passed: tunnels opened (and refused), bytes each way."""

    tunnels: int = 0
    refused: int = 0
    up: int = 0
    down: int = 0
    asked: list[Address] = field(default_factory=list)


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: list[int]
) -> None:
    try:
        while data := await reader.read(65536):
            count[0] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _splice(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    traffic: Traffic,
) -> None:
    up, down = [0], [0]
    await asyncio.gather(_pump(client[0], server[1], up), _pump(server[0], client[1], down))
    traffic.up += up[0]
    traffic.down += down[0]


class _Server:
    """An asyncio TCP server on 127.0.0.1 that ``stop()`` closes with its connections."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.traffic = Traffic()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accepted, LOCAL, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handle(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # cancelled: stop() ends the connections (asyncio would log the cancellation)
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _tunnel(
        self, client: tuple[asyncio.StreamReader, asyncio.StreamWriter], target: Address
    ) -> None:
        server = await asyncio.open_connection(*target)
        self.traffic.tunnels += 1
        await _splice(client, server, self.traffic)


class Relay(_Server):
    """``port`` refuses until ``start()``; then every connection is forwarded to ``target``,
    but for those numbered in ``dropped`` (1 is the first), closed at once: a network that
    goes as it came."""

    def __init__(self, port: int, target: Address, dropped: set[int] | None = None) -> None:
        super().__init__(port)
        self.target, self.dropped = target, dropped or set()
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections in self.dropped:
            self.traffic.refused += 1
            return
        await self._tunnel((reader, writer), self.target)


class _Proxy(_Server):
    def __init__(self, user: str, password: str, routes: dict[Address, Address]) -> None:
        super().__init__()
        self.user, self.password, self.routes = user, password, routes

    def route(self, asked: Address) -> Address | None:
        """Where a tunnel to ``asked`` goes: its route, or itself if local; None: refused."""
        self.traffic.asked.append(asked)
        target = self.routes.get(asked, asked)
        return target if target[0] == LOCAL else None


class ConnectProxy(_Proxy):
    """``CONNECT host:port`` with ``Proxy-Authorization: Basic``; 407 without it."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, authority, _version = head[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
        secret = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        host, _, port = authority.rpartition(":")
        target = self.route((host.strip("[]"), int(port))) if method == "CONNECT" else None
        if headers.get("Proxy-Authorization") != f"Basic {secret}" or target is None:
            self.traffic.refused += 1
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await self._tunnel((reader, writer), target)


class Socks5Proxy(_Proxy):
    """SOCKS5 CONNECT with username and password authentication (method 2) only."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if 2 not in methods:
            writer.write(b"\x05\xff")
            self.traffic.refused += 1
            return
        writer.write(b"\x05\x02")
        _auth_version, length = await reader.readexactly(2)
        user = (await reader.readexactly(length)).decode()
        length = (await reader.readexactly(1))[0]
        password = (await reader.readexactly(length)).decode()
        if (user, password) != (self.user, self.password):
            writer.write(b"\x01\x01")
            self.traffic.refused += 1
            return
        writer.write(b"\x01\x00")
        target = self.route(await _socks_address(reader))
        if target is None:
            writer.write(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by the rules
            self.traffic.refused += 1
            return
        writer.write(b"\x05\x00\x00\x01" + bytes(6))
        await writer.drain()
        await self._tunnel((reader, writer), target)


async def _socks_address(reader: asyncio.StreamReader) -> Address:
    """The address of a SOCKS5 request (CONNECT), as the client named it."""
    _version, _command, _reserved, kind = await reader.readexactly(4)
    if kind == 1:
        host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
    elif kind == 3:
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
    else:
        host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
    port = int.from_bytes(await reader.readexactly(2), "big")
    return host, port
