"""An in-process fake Telegram Bot API server for tests, benchmarks and the demo.

The real bot (python-telegram-bot's ``Application``, unchanged) talks to it
over a real socket on 127.0.0.1::

    async with FakeBotApi() as fake:
        app = (
            ApplicationBuilder()
            .token(fake.token)
            .base_url(fake.base_url)
            .base_file_url(fake.file_url)
            .build()
        )
        mei = fake.user(1001, "Mei", language_code="zh")
        fake.send(mei, text="/start")
        reply = await fake.wait_for(lambda: fake.last(mei))

Every call is validated against the official Bot API spec; anything that
would not work on the real Telegram is answered like Telegram answers it and,
when it is the bot's fault, recorded in :attr:`FakeBotApi.violations`.

This module is the HTTP side (routing, decoding, the flood limits, getUpdates and the webhook
pusher); the call log, the waiting helpers and the test controls are in ``harness.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from .errors import ApiError
from .files import TINY_JPEG
from .harness import Harness
from .http_body import BodyError, read_params
from .limits import Limits
from .objects import ApiCall, UploadedFile
from .spec import MethodSpec
from .stars import StarsValue

__all__ = ["FakeBotApi"]

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

# send* methods that count against the flood limits (chat actions and drafts do not).
_NOT_RATE_LIMITED = frozenset({"sendChatAction", "sendMessageDraft", "sendRichMessageDraft"})
_RATE_LIMITED_PREFIXES = ("send", "copy", "forward")
# Methods fail_next() can hit.
_FAILABLE_PREFIXES = ("send", "edit", "delete", "copy", "forward")
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_SHUTDOWN_TIMEOUT = 1.0


def _json_response(status: int, payload: Any) -> web.Response:
    """A JSON response like Telegram's."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return web.Response(status=status, body=body, content_type="application/json")


def _status_description(status: int) -> str:
    """Description Telegram uses for an injected HTTP failure."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _is_rate_limited(method: str) -> bool:
    """Whether a method sends a message and so counts against the flood limits."""
    return method.startswith(_RATE_LIMITED_PREFIXES) and method not in _NOT_RATE_LIMITED


def _is_paid(method: str, params: JsonDict) -> bool:
    """Whether a call is a send the bot pays Stars for (``allow_paid_broadcast``); the spec
    check already refused the parameter on methods that do not carry it."""
    return _is_rate_limited(method) and params.get("allow_paid_broadcast") is True


def _messages_in(method: str, params: JsonDict) -> int:
    """How many messages a send makes (an album one for each item), each paid for."""
    return len(params["media"]) if method == "sendMediaGroup" else 1


def _is_failable(method: str) -> bool:
    """Whether a method acts on a chat's messages (fail_next() and cool-downs hit it)."""
    return method.startswith(_FAILABLE_PREFIXES) and method != "sendChatAction"


def _too_many(retry_after: int) -> ApiError:
    """Telegram's 429."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        parameters={"retry_after": retry_after},
    )


class FakeBotApi(Harness):
    """A fake Bot API server plus the fake Telegram world the bot lives in.

    User actions (``send``, ``click``, ``block``...) and inspection
    (``messages``, ``last``...) are inherited from :class:`World`; the call log,
    the waiting helpers and the test controls from :class:`Harness`.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "searchbot_test_bot",
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        stars: StarsValue = 0,
    ) -> None:
        """``clock`` (seconds, monotonic) drives the flood limits; tests may inject one.
        ``stars`` is the bot's Telegram Stars balance, which paid broadcasts draw on."""
        super().__init__(token, bot_username, limits, clock)
        self.star_ledger.stars = stars
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False
        self._pusher: asyncio.Task[None] | None = None

    # ---------------------------------------------------------- lifecycle

    async def start(self) -> FakeBotApi:
        """Start serving on 127.0.0.1 on an ephemeral port."""
        if self._runner is not None:
            raise RuntimeError("FakeBotApi already started")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._closing = False
        self._pusher = asyncio.create_task(self._push_to_webhook(), name="fake-webhook-pusher")
        return self

    async def stop(self) -> None:
        """Release waiting long polls at once, then close the server (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self.wake_pollers()
        if self._pusher is not None:
            self._pusher.cancel()
            await asyncio.gather(self._pusher, return_exceptions=True)
            self._pusher = None
        await runner.cleanup()

    async def _push_to_webhook(self) -> None:
        """While a webhook is set, POST each queued update to it (with the secret token in
        ``X-Telegram-Bot-Api-Secret-Token``) and confirm it once answered 2xx, as Telegram does;
        ``webhook_answers`` keeps each HTTP status for the tests."""
        async with aiohttp.ClientSession() as client:
            while True:
                if self.outage_left() > 0:  # Telegram is down: it pushes nothing either
                    await asyncio.sleep(self.outage_left())
                    continue
                signal = self.update_signal
                url = self._api.webhook_url
                batch = self.take_updates(1, self._allowed_updates) if url else []
                if not batch:
                    await signal.wait()
                    continue
                headers = {"X-Telegram-Bot-Api-Secret-Token": self._api.webhook_secret}
                try:
                    async with client.post(url, json=batch[0], headers=headers) as response:
                        self.webhook_answers.append(response.status)
                        if 200 <= response.status < 300:
                            self.confirm_updates(batch[0]["update_id"] + 1)
                        else:
                            await asyncio.sleep(0.1)
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started; await fake.start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``base_url`` for PTB (it appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """``base_file_url`` for PTB (it appends the token)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        """Entry point of ``/bot<token>/<method>``."""
        name = request.match_info["method"]
        at = time.monotonic()
        if request.match_info["token"] != self.token:
            return self._finish(name, {}, at, ApiError(401, "Unauthorized"))
        if self.outage_left() > 0:
            return await self._unreachable(name, at)
        spec = self.spec.resolve_method(name)
        if spec is None:
            error = ApiError(404, "Not Found: method not found", violation=True)
            return self._finish(name, {}, at, error)
        if spec.name == "getUpdates":
            return await self._serve_safely(request, spec, at)
        self._inflight += 1
        self._last_activity = at
        try:
            return await self._serve_safely(request, spec, at)
        finally:
            self._inflight -= 1
            self._last_activity = time.monotonic()
            self._call_signal.set()
            self._call_signal = asyncio.Event()

    async def _unreachable(self, name: str, at: float) -> web.Response:
        """A call during an outage: 502 without carrying it out (after hanging until the outage
        ends, when it stalls). Recorded like any failed call."""
        if self._outage_stalls:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.outage_left()):
                    await asyncio.Event().wait()  # the client may give up first (cancelled)
        return self._finish(name, {}, at, ApiError(502, "Bad Gateway"))

    async def _serve_safely(
        self, request: web.Request, spec: MethodSpec, at: float
    ) -> web.Response:
        """Serve a call; a bug in the fake becomes a JSON 500 and a recorded violation."""
        try:
            return await self._serve(request, spec, at)
        except Exception as exc:
            log.exception("fake Bot API failed on %s", spec.name)
            error = ApiError(500, f"Internal Server Error: fake Bot API bug: {exc!r}")
            self.violations.append(f"{spec.name}: fake Bot API internal error {exc!r}")
            return self._finish(spec.name, {}, at, error)

    async def _serve(self, request: web.Request, spec: MethodSpec, at: float) -> web.Response:
        """Decode, validate, execute and record one call."""
        method = spec.name
        try:
            raw, files = await read_params(request)
        except BodyError as exc:
            return self._finish(method, {}, at, ApiError.bad_request(str(exc), violation=True))
        self._count_uploads(files)
        with self._in_flight_to(raw.get("chat_id")):
            return await self._serve_call(spec, raw, files, at)

    async def _serve_call(
        self, spec: MethodSpec, raw: JsonDict, files: dict[str, UploadedFile], at: float
    ) -> web.Response:
        """Latency, validation, execution and record of a decoded call."""
        method = spec.name
        if self.limits.latency and method != "getUpdates":
            await asyncio.sleep(self.limits.latency)
        field_files = {name: f for name, f in files.items() if name in spec.fields}
        params, errors = self.spec.validate_params(spec, {**raw, **field_files})
        if errors:
            error = ApiError.bad_request("; ".join(errors), violation=True)
            return self._finish(method, {**raw, **field_files}, at, error)
        try:
            result = await self._execute(spec, params, files)
        except ApiError as exc:
            return self._finish(method, params, at, exc)
        return self._finish(method, params, at, None, result, paid=_is_paid(method, params))

    async def _execute(
        self, spec: MethodSpec, params: JsonDict, files: dict[str, UploadedFile]
    ) -> Any:
        """Run a validated call: flood limits, failure injection, the Stars a paid send needs,
        then the method itself; only a send that went through counts and is charged."""
        method = spec.name
        if method == "getUpdates":
            return await self._get_updates(params)
        chat_id = self._chat_id_param(params)
        targets = chat_id is not None and _is_failable(method)
        limited, paid = _is_rate_limited(method), _is_paid(method, params)
        refusal = self._limiter.check(chat_id, sends=limited, targets=targets, paid=paid)
        if refusal is not None:
            raise _too_many(refusal.retry_after)
        self._inject_failure(method, chat_id)
        if paid:
            self.star_ledger.require(_messages_in(method, params))
        handler = self._api.handlers.get(method)
        result = handler(params, files) if handler else self._api.generic(params, spec.returns)
        if limited:
            self._limiter.record(chat_id)
        if paid:
            self.star_ledger.charge(_messages_in(method, params))
        return result

    def _finish(
        self,
        method: str,
        params: JsonDict,
        at: float,
        error: ApiError | None,
        result: Any = None,
        *,
        paid: bool = False,
    ) -> web.Response:
        """Record the call and build the HTTP response."""
        if error is None:
            self.calls.append(ApiCall(method, params, True, None, at, paid=paid))
            return _json_response(200, {"ok": True, "result": result})
        if error.code == 429:
            self.count_429 += 1
        if error.violation:
            violation = f"{method}: {error.violation_text()}"
            self.violations.append(violation)
            log.warning("Bot API violation: %s", violation)
        self.calls.append(ApiCall(method, params, False, error.code, at, error.description))
        return _json_response(error.code, error.payload())

    @contextlib.contextmanager
    def _in_flight_to(self, chat: Any) -> Iterator[None]:
        """Count the calls to one chat that are in progress together (``most_in_flight``)."""
        try:
            chat_id = int(chat)
        except (TypeError, ValueError):
            yield
            return
        self._chat_in_flight[chat_id] += 1
        most = self.most_in_flight
        most[chat_id] = max(most.get(chat_id, 0), self._chat_in_flight[chat_id])
        try:
            yield
        finally:
            self._chat_in_flight[chat_id] -= 1

    def _count_uploads(self, files: dict[str, UploadedFile]) -> None:
        """Account for multipart file uploads."""
        for upload in files.values():
            self.upload_count += 1
            self.uploaded_bytes += upload.size

    def _chat_id_param(self, params: JsonDict) -> int | None:
        """The numeric target chat of a call, if any."""
        value = params.get("chat_id")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            chat = self.find_chat(value)
            return chat.chat_id if chat else None
        return None

    def _inject_failure(self, method: str, chat_id: int | None) -> None:
        """Raise the next planned fail_next() failure for this chat, if any."""
        if chat_id is None or not _is_failable(method):
            return
        plan = self._failures.get(chat_id)
        if not plan:
            return
        status = plan.popleft()
        if status == 429:
            self._limiter.refused(chat_id, self.limits.retry_after, "injected")
            raise _too_many(self.limits.retry_after)
        raise ApiError(status, _status_description(status))

    async def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        """getUpdates with long polling; a newer poll terminates an older one (409)."""
        if self._api.webhook_url:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        if "offset" in params:
            self.confirm_updates(params["offset"])
        limit = min(max(params.get("limit", 100), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self.wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(params.get("timeout", 0), 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT_POLL)
            batch = self.take_updates(limit, self._allowed_updates)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                if batch:
                    self._last_activity = time.monotonic()
                return batch
            signal = self.update_signal
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await signal.wait()

    async def _handle_file(self, request: web.Request) -> web.Response:
        """``GET /file/bot<token>/<file_path>``: the stored bytes (a tiny JPEG for photos)."""
        if request.match_info["token"] != self.token:
            return _json_response(401, ApiError(401, "Unauthorized").payload())
        stored = self.file_store.download(request.match_info["path"])
        if stored is None:
            return _json_response(404, ApiError(404, "Not Found").payload())
        data = stored.data if stored.data is not None else TINY_JPEG
        content_type = "image/jpeg" if stored.kind == "photo" else "application/octet-stream"
        return web.Response(body=data, content_type=content_type)
