"""The command room's web server (aiohttp, in the bot's process): the page, the JSON API and
the live event stream; on the operations address too (/healthz, /metrics) when the station
gives both one port.

Every ``/api`` call carries either Telegram's Mini App init data (header
``X-Telegram-Init-Data``: an officer, who may act) or a screen token (header ``X-Screen-Token``
or ``?token=``: read-only, no personal field). A failed check answers 401 or 403 with an empty
body: nothing about the case, nor why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from searchbot.cases.services import Services
from searchbot.web import auth, blind, room
from searchbot.web.auth import Viewer
from searchbot.web.events import ALL, CLOSING, CaseWatch

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
HEARTBEAT_SECONDS = 15.0
# Event streams one link (a screen token) or one officer may hold open at once: a screen or
# two and an officer's phone, with room for a reload. Each stream is re-checked at every event.
STREAMS_PER_VIEWER = 4
# The page runs only its own scripts and talks only to this server; images may come from the
# tile server. No referrer: a screen link's token must not travel to the tile server.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; "
        "img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
PAGE_PATHS = ("/app", "/screen")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CommandRoom:
    """The server; ``extra`` adds other routes (the operations endpoints) to the same app."""

    def __init__(
        self,
        services: Services,
        listen: str,
        extra: Callable[[web.Application], None] | None = None,
    ) -> None:
        self._services = services
        host, _, port = listen.rpartition(":")
        self._host, self._port = host, int(port)
        self._extra = extra
        self._runner: web.AppRunner | None = None
        self.watch = CaseWatch(services)
        self._streams: Counter[str] = Counter()  # open event streams per viewer (stream_key)

    def application(self) -> web.Application:
        app = web.Application(middlewares=[page_headers])
        app.router.add_get("/", self._home)
        app.router.add_get("/app", self._page)
        app.router.add_get("/screen", self._page)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        app.router.add_get("/api/texts", self._texts)
        app.router.add_get("/api/me", self._guarded(self._me))
        app.router.add_get("/api/cases", self._guarded(self._cases))
        app.router.add_get("/api/cases/{case:\\d+}", self._guarded(self._case))
        app.router.add_get("/api/events", self._guarded(self._events))
        for action in ("verify", "escalate", "close"):
            app.router.add_post(f"/api/cases/{{case:\\d+}}/{action}", self._guarded(self._act))
        app.router.add_post("/api/sightings/{sighting:\\d+}/judge", self._guarded(self._act))
        if self._extra is not None:
            self._extra(app)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("command room on %s:%s", self._host, self._port)

    async def stop(self) -> None:
        await self.watch.stop()
        self.watch.close_streams()  # open event streams would hold the shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- authentication ------------------------------------------------------------------

    async def viewer(self, request: web.Request) -> Viewer:
        """Who calls: raises auth.Unauthorized / auth.Forbidden."""
        init_data = request.headers.get("X-Telegram-Init-Data")
        authorization = request.headers.get("Authorization", "")
        if not init_data and authorization.lower().startswith("tma "):
            init_data = authorization[4:]
        if init_data:
            return await auth.officer_from_init_data(self._services, init_data)
        token = request.headers.get("X-Screen-Token") or request.query.get("token")
        if token:
            return await auth.screen_viewer(self._services, token)
        raise auth.Unauthorized("no credentials")

    def _guarded(
        self, handler: Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]
    ) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                viewer = await self.viewer(request)
            except auth.Unauthorized:
                return web.Response(status=401)
            except auth.Forbidden:
                return web.Response(status=403)
            return await handler(request, viewer)

        return guarded

    # --- pages ---------------------------------------------------------------------------

    async def _home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/app")

    async def _page(self, _request: web.Request) -> web.StreamResponse:
        """The one page (Mini App and screen alike); it reads its credentials from the URL."""
        return web.FileResponse(STATIC / "index.html")

    async def _texts(self, request: web.Request) -> web.StreamResponse:
        """The page's labels in one language (public: no case data)."""
        return web.json_response(room.page_texts(request.query.get("lang", "en")))

    # --- the API -------------------------------------------------------------------------

    async def _me(self, _request: web.Request, viewer: Viewer) -> web.StreamResponse:
        settings = self._services.settings
        return web.json_response(
            {
                "language": viewer.language,
                "can_act": viewer.personal,
                "tiles": settings.map_tiles,
            }
        )

    async def _cases(self, _request: web.Request, viewer: Viewer) -> web.StreamResponse:
        return web.json_response({"cases": await room.open_cases(self._services, viewer)})

    async def _case(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        data = await room.case_layers(self._services, viewer, int(request.match_info["case"]))
        if data is None:
            return web.json_response({"error": "no such case"}, status=404)
        return web.Response(text=blind.dumps(data), content_type="application/json")

    async def _act(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        if viewer.actor is None:  # the screen is read-only
            return web.Response(status=403)
        body = await _json_body(request)
        action = request.path.rsplit("/", 1)[1]
        if action == "judge":
            number = int(request.match_info["sighting"])
            value = "1" if body.get("credible") is True else "0"
        else:
            number = int(request.match_info["case"])
            value = str(body.get("outcome", ""))
        result = await room.act(self._services, viewer.actor, action, number, value)
        return web.json_response(result)

    async def _events(self, request: web.Request, viewer: Viewer) -> web.StreamResponse:
        """Server-Sent Events: ``event: case`` with ``{"case": N}`` (0: every case) whenever
        something the map draws changed. Credentials are checked again at every event; one link
        or one officer holds at most ``STREAMS_PER_VIEWER`` streams (429 beyond)."""
        key = stream_key(request, viewer)
        if self._streams[key] >= STREAMS_PER_VIEWER:
            return web.Response(status=429, headers={"Retry-After": str(int(HEARTBEAT_SECONDS))})
        self._streams[key] += 1
        try:
            return await self._stream(request)
        finally:
            self._streams[key] -= 1
            if self._streams[key] <= 0:
                del self._streams[key]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        asked = request.query.get("case", "")
        wanted = int(asked) if asked.isdigit() else None
        stream = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx in front must not hold the events back
            }
        )
        await stream.prepare(request)
        queue = self.watch.subscribe()
        try:
            await stream.write(b"event: hello\ndata: {}\n\n")
            while True:
                try:
                    case_id = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    case_id = None
                try:
                    viewer = await self.viewer(request)
                except (auth.Unauthorized, auth.Forbidden):
                    break  # stale init data, an officer removed, a link revoked: the stream ends
                if case_id == CLOSING:
                    break
                if case_id is None:
                    await stream.write(b": still here\n\n")
                elif case_id == ALL or (
                    wanted in (None, case_id)
                    and await room.may_see(self._services, viewer, case_id)
                ):  # another station's case is not even named
                    data = json.dumps({"case": case_id})
                    await stream.write(f"event: case\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.watch.unsubscribe(queue)
        return stream


def stream_key(request: web.Request, viewer: Viewer) -> str:
    """Whose stream this is: an officer by Telegram id (each opening of the Mini App brings new
    init data), a screen by its link's signature."""
    if viewer.actor is not None:
        return f"officer:{viewer.actor.user_id}"
    token = request.headers.get("X-Screen-Token") or request.query.get("token") or ""
    return "screen:" + token.rpartition(".")[2]


@web.middleware
async def page_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The page and every file it loads go out with ``PAGE_HEADERS``: one place, so that no
    route can forget the Content-Security-Policy (without it, markup that slipped into the page
    would run with the officer's credentials)."""
    response = await handler(request)
    if request.path in PAGE_PATHS or request.path.startswith("/static/"):
        response.headers.update(PAGE_HEADERS)
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        body = await request.json()
        if isinstance(body, dict):
            return body
    return {}
