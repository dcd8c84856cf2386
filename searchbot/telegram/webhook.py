"""Telegram's updates by webhook, served by our own small aiohttp handler.

Telegram sends the secret given at ``setWebhook`` back in ``X-Telegram-Bot-Api-Secret-Token``
with every update. That header is the only thing telling a real update from a forged one (a
forged update is trusted as whoever it names: an admin, an officer), so it is compared in
constant time (``hmac.compare_digest``), every refusal is counted for /metrics, and nothing of
a refused post is read, parsed or logged. python-telegram-bot's own webhook server compares
with ``!=`` and logs the wrong token and every update's JSON at DEBUG; hence this one.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from searchbot.telegram.lean_updates import lean

log = logging.getLogger(__name__)

HEADER = "X-Telegram-Bot-Api-Secret-Token"
Accept = Callable[[dict[str, Any]], Awaitable[bool]]


def secret_matches(given: str | None, secret: str) -> bool:
    """Whether ``given`` is the secret, in time independent of where they differ."""
    return hmac.compare_digest(
        (given or "").encode("utf-8", "surrogateescape"), secret.encode("utf-8")
    )


class WebhookServer:
    """Listens on ``host:port`` for POSTs to ``path``; hands each genuine update to
    ``accept`` (False: not an update, answered 400) and counts refusals with ``refused``."""

    def __init__(
        self,
        address: tuple[str, int],
        path: str,
        secret: str,
        accept: Accept,
        refused: Callable[[str], None],
    ) -> None:
        self._host, self._port = address
        self._path = "/" + path.strip("/")
        self._secret, self._accept, self._refused = secret, accept, refused
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post(self._path, self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("webhook listening on %s:%s%s", self._host, self._port, self._path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        given = request.headers.get(HEADER)
        if not secret_matches(given, self._secret):
            reason = "wrong" if given else "missing"
            self._refused(reason)
            log.warning("webhook post refused: %s secret", reason)
            return web.Response(status=403)
        try:
            data = lean(json.loads(await request.read()))
        except ValueError:
            return web.Response(status=400)
        if not isinstance(data, dict) or not await self._accept(data):
            return web.Response(status=400)
        return web.Response(status=200)
