"""The composition root: builds the python-telegram-bot Application with the handlers, the
outbox dispatcher and the escalation tick wired to one set of services."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from searchbot import handlers
from searchbot.cases import escalation, exits, found, reminders
from searchbot.cases.audit import AuditLog
from searchbot.cases.checks import Checks
from searchbot.cases.links import DeepLinks
from searchbot.cases.officers import OfficerRules
from searchbot.cases.people import People
from searchbot.cases.places import PlaceResolver
from searchbot.cases.services import Services
from searchbot.delivery.dispatcher import IDLE_WAIT, NOTIFIED_IDLE_WAIT, Dispatcher
from searchbot.delivery.leadership import Leadership, Roles, announce_move
from searchbot.domain.clock import Clock, system_clock, use_zone
from searchbot.handlers.presses import QuickPresses
from searchbot.models import db
from searchbot.models.db import Sessions
from searchbot.models.doorbell import Doorbell
from searchbot.operations import logs, retention
from searchbot.operations.health import Metrics, OperationsServer
from searchbot.operations.startup import (
    Refused,
    database_shown,
    database_trouble,
    delays,
    keep_trying,
    reach_database,
    stopped_within,
)
from searchbot.settings import Settings
from searchbot.telegram import menus
from searchbot.telegram.bot_http import AiohttpRequest
from searchbot.telegram.placeholder import PlaceholderStore
from searchbot.telegram.poller import Poller
from searchbot.telegram.reach import reach_telegram, telegram_shown, telegram_trouble
from searchbot.telegram.transport import TelegramTransport, connections
from searchbot.telegram.update_order import ChatOrderedUpdates
from searchbot.telegram.webhook import WebhookServer
from searchbot.telling import notify
from searchbot.web.server import CommandRoom
from searchbot.words.buttons import is_crowd_press

log = logging.getLogger(__name__)

BotApplication = Application  # type: ignore[type-arg]
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
PURGE_EVERY = 24 * 3600  # seconds: the retention period is counted in days
RUNNING_UPDATES = 32  # updates handled at once (waiting for a chat's turn takes no slot)


@dataclass
class Runtime:
    """What a running bot consists of (tests and the demo reach into it)."""

    application: BotApplication
    services: Services
    engine: AsyncEngine
    metrics: Metrics = field(default_factory=Metrics)
    dispatcher: Dispatcher | None = None
    operations: OperationsServer | None = None
    command_room: CommandRoom | None = None
    webhook: WebhookServer | None = None
    # the bot's HTTP clients: a start that failed before python-telegram-bot counted itself
    # initialised leaves them open, and only they know (see _built_anew)
    requests: tuple[AiohttpRequest, ...] = ()
    leadership: Leadership | None = None  # made by build: which instance sends (see roles)
    transport: TelegramTransport | None = None
    poller: Poller | None = None  # polling mode: the leader's getUpdates
    standing_by: asyncio.Task[None] | None = None  # a lead lost: what was in the air settling


def services_for(
    settings: Settings, sessions: Sessions, doorbell: Doorbell, clock: Clock = system_clock
) -> Services:
    """The use cases' collaborators, each made here and nowhere else (the bot and the CLI)."""
    places = PlaceResolver(
        sessions, settings.service_area, settings.geocoder, settings.geocoder_domain
    )
    return Services(
        settings=settings, sessions=sessions, places=places, doorbell=doorbell,
        checks=Checks(sessions, clock), clock=clock, teller=notify.tell,
        officers=OfficerRules(settings), audit=AuditLog(clock), people=People(sessions, clock),
        links=DeepLinks(),
    )  # fmt: skip


def build(settings: Settings, clock: Clock = system_clock) -> Runtime:
    """Everything wired, nothing started. The token must be set."""
    assert settings.telegram_bot_token, "TELEGRAM_BOT_TOKEN is required"
    logs.install()
    use_zone(settings.timezone)
    engine = db.create_engine(settings.database_url)
    # The dispatcher needs the bot's connection, so it is made at start-up; what must reach it
    # before (every commit that wrote outbox rows, every direct send) rings its doorbell.
    doorbell = Doorbell()
    sessions = db.sessions(engine, doorbell.ring)
    services = services_for(settings, sessions, doorbell, clock)
    requests = (
        AiohttpRequest(
            pool_size=connections(settings), pool_timeout=10, proxy=settings.telegram_proxy
        ),
        AiohttpRequest(pool_size=1, proxy=settings.telegram_proxy),  # getUpdates
    )
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .request(requests[0])
        .get_updates_request(requests[1])
        .concurrent_updates(ChatOrderedUpdates(RUNNING_UPDATES, independent=is_crowd_press))
        .context_types(handlers.CONTEXT_TYPES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    runtime = Runtime(application, services, engine, requests=requests)
    runtime.leadership = Leadership(
        settings.database_url, settings.leader_timeout, runtime.metrics, doorbell.ring
    )
    application.bot_data["services"] = services
    application.bot_data["runtime"] = runtime
    handlers.install(application)
    return runtime


async def _post_init(application: BotApplication) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    services = runtime.services
    await db.upgrade(runtime.engine)
    services.links.bot_username = application.bot.username
    placeholder = PlaceholderStore(services.sessions, services.clock)
    transport = TelegramTransport(application.bot, placeholder)
    runtime.transport = transport  # the dispatcher is made when this instance leads (_lead)
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _tick, interval=services.settings.tick_seconds, first=0.1, name="escalation-tick"
    )
    application.job_queue.run_repeating(_purge, interval=PURGE_EVERY, first=60, name="purge")
    await menus.install(application.bot, services)
    settings = services.settings
    # ``serve`` started it before waiting for the database and Telegram; a World did not
    operations = runtime.operations or _operations(runtime)
    if settings.web_listen:  # the command room; /healthz and /metrics too if on the same port
        shared = operations if settings.metrics_listen == settings.web_listen else None
        if shared is not None:
            await shared.stop()  # the port passes from the waiting's server to the command room
        runtime.command_room = CommandRoom(
            services, settings.web_listen, shared.add_routes if shared else None
        )
        await runtime.command_room.start()
        operations = None if shared else operations
    if operations is not None and not operations.started:
        runtime.operations = operations
        await operations.start()


def _operations(runtime: Runtime) -> OperationsServer | None:
    """``/healthz`` and ``/metrics``, when ``SEARCHBOT_METRICS_LISTEN`` asks for them."""
    listen = runtime.services.settings.metrics_listen
    if not listen:
        return None
    return OperationsServer(runtime.services, runtime.metrics, listen, _role(runtime))


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    if not _leads(runtime):
        return  # the leader ticks (the claims would hold anyway: this saves the queries)
    try:
        await escalation.tick(runtime.services)
        await reminders.tick(runtime.services)
        await exits.tick(runtime.services)
    except Exception:  # a failed tick is retried at the next one; the rows are still due
        log.exception("escalation tick failed")


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    if not _leads(runtime):
        return
    try:
        result = await retention.purge(runtime.services)
        await found.forget(runtime.services)
        if result.cases or result.drafts or result.people:
            log.info(
                "purged personal data of cases %s, %s drafts, %s people",
                result.cases, result.drafts, result.people,
            )  # fmt: skip
    except Exception:  # tried again at the next run; nothing is lost by waiting
        log.exception("purge failed")


async def _post_shutdown(application: BotApplication) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    if runtime.operations is not None:
        await runtime.operations.stop()
    if runtime.command_room is not None:
        await runtime.command_room.stop()
    await runtime.services.checks.stop()  # the presses' audit and counters still collected
    if runtime.dispatcher is not None:
        await runtime.dispatcher.stop()
    await runtime.engine.dispose()


async def start(runtime: Runtime, poll_interval: float = 0.0, timeout: int = 10) -> None:
    """Start the bot inside the running event loop: long polling, or the webhook when one is
    configured."""
    application, settings = runtime.application, runtime.services.settings
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    quick = _quick_presses(runtime)
    if settings.webhook_url:
        await _start_webhook(runtime, quick)
    else:
        runtime.requests[1].take = quick.take  # the getUpdates request's
        runtime.poller = _poller(runtime, timeout)
    await _start_leading(runtime)


def _quick_presses(runtime: Runtime) -> QuickPresses:
    """A crowd's presses, handled as their updates are read; answered on the blind calls."""
    bot, request = runtime.application.bot, runtime.requests[0]
    url = f"{bot.base_url}/answerCallbackQuery"
    return QuickPresses(runtime.services, bot.id, lambda values: request.post_blind(url, values))


async def _start_webhook(runtime: Runtime, quick: QuickPresses) -> None:
    """Serve the webhook (see ``searchbot.telegram.webhook``), then tell Telegram where it is."""
    application, settings = runtime.application, runtime.services.settings
    assert settings.webhook_url and settings.webhook_secret

    async def accept(data: dict[str, Any]) -> bool:
        if runtime.leadership is not None and runtime.leadership.unreachable:
            raise web.HTTPServiceUnavailable  # not handled now: Telegram sends it again later
        if quick.take(data):
            return True
        try:
            update = Update.de_json(data, application.bot)
        except Exception:  # not an update; its content stays out of the log
            log.warning("webhook post is not an update")
            return False
        await application.update_queue.put(update)
        return True

    def refused(reason: str) -> None:
        runtime.metrics.webhook_refused.labels(reason=reason).inc()

    runtime.webhook = WebhookServer(
        settings.webhook_address, urlsplit(settings.webhook_url).path, settings.webhook_secret,
        accept, refused,
    )  # fmt: skip
    await runtime.webhook.start()
    await application.bot.set_webhook(
        settings.webhook_url, secret_token=settings.webhook_secret, allowed_updates=ALLOWED_UPDATES
    )


async def serve(settings: Settings, debug: bool = False) -> None:
    """``searchbot run``: wait until the database and Telegram answer, start, and run until
    SIGINT or SIGTERM, which also end the waiting at once. While it waits, ``/healthz`` answers
    503 with what it waits for (see ``searchbot.operations.startup``). Raises ``Refused`` when
    either answers no (a wrong token, a wrong password)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    runtime = build(settings)
    runtime.operations = _operations(runtime)
    if runtime.operations is not None:
        runtime.operations.waiting("starting")
        await runtime.operations.start()
    try:
        runtime = await _start_when_reachable(settings, runtime, stopping, debug)
        # What is built by now lives as long as the process: out of the collector's sight, a
        # full collection no longer walks it (it held the event loop for about 90 ms at a time).
        gc.freeze()
        await stopping.wait()
    finally:
        await stop(runtime)


async def _start_when_reachable(
    settings: Settings, runtime: Runtime, stopping: asyncio.Event, debug: bool
) -> Runtime:
    """``runtime`` started once the database and Telegram answer (the one returned: a start
    that failed half-way, on a network that came and went, is built anew). Returns unstarted
    when ``stopping`` came first."""
    operations = runtime.operations
    report = operations.waiting if operations is not None else (lambda _reason: None)
    pauses = delays(settings.start_retry_max)  # between failed starts: never a busy loop
    while True:
        if not await _reachable(settings, runtime.engine, stopping, report, debug):
            return runtime
        try:
            await start(runtime)
        except Exception as error:
            shown = database_shown(runtime.engine)
            trouble = database_trouble(error, shown) or telegram_trouble(error, settings)
            if trouble is None:
                raise
            if isinstance(trouble, Refused):
                raise trouble from error
            pause = next(pauses)
            log.warning("%s (while starting); trying again in %g s", trouble, pause, exc_info=debug)
            report(str(trouble))
            runtime = await _built_anew(settings, runtime)
            if await stopped_within(stopping, pause):
                return runtime
            continue
        report(None)
        return runtime


async def _reachable(
    settings: Settings,
    engine: AsyncEngine,
    stopping: asyncio.Event,
    report: Callable[[str | None], None],
    debug: bool,
) -> bool:
    """The database, then Telegram, tried until each answers (False: stopped first)."""
    cap = settings.start_retry_max
    return await keep_trying(
        database_shown(engine), partial(reach_database, engine), stopping, report, cap, debug
    ) and await keep_trying(
        telegram_shown(settings), partial(reach_telegram, settings), stopping, report, cap, debug
    )


async def _built_anew(settings: Settings, runtime: Runtime) -> Runtime:
    """A start failed half-way (the network went as it came): stop what it started and build
    the bot again, keeping the operations server (it answers for the new one, and goes on
    saying what the start waits for) and its counters."""
    operations, runtime.operations = runtime.operations, None
    try:
        await stop(runtime)
    except Exception as error:  # what stops half-started may fail for the same lost network
        log.warning("stopping the half-started bot: %s: %s", type(error).__name__, error)
    for request in runtime.requests:  # stop() leaves them open when getMe itself failed
        await request.shutdown()
    fresh = build(settings)
    fresh.metrics, fresh.operations = runtime.metrics, operations
    if operations is not None:
        operations.serve(fresh.services, fresh.metrics, _role(fresh))
        if not operations.started:  # it had passed its port to the command room
            await operations.start()
    return fresh


async def stop(runtime: Runtime) -> None:
    application = runtime.application
    if runtime.webhook is not None:
        await runtime.webhook.stop()
    if runtime.leadership is not None:  # sends settled, handled updates confirmed, lock let go
        await runtime.leadership.stop()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


# --- several instances (see searchbot.delivery.leadership) --------------------------------


async def _start_leading(runtime: Runtime) -> None:
    """Lead if no other instance does (at once when alone), else stand by and keep trying."""
    assert runtime.leadership is not None
    roles = Roles(
        lead=lambda moved: _lead(runtime, moved),
        halt=lambda: _halt(runtime),
        stand_by=lambda: _stand_by(runtime),
    )
    await runtime.leadership.start(roles)


async def _lead(runtime: Runtime, moved: bool) -> None:
    """This instance leads: its dispatcher resumes what the last leader left in the air (and
    tells officers how many alerts may go twice), then it polls, if it polls."""
    if runtime.standing_by is not None:  # our own last sends settle before any recovery
        await runtime.standing_by
    assert runtime.transport is not None and runtime.leadership is not None
    notified = not db.is_sqlite(runtime.services.settings.database_url)  # NOTIFY wakes it
    runtime.dispatcher = Dispatcher(
        runtime.services, runtime.transport, metrics=runtime.metrics,
        idle_wait=NOTIFIED_IDLE_WAIT if notified else IDLE_WAIT,
        fence=runtime.leadership.claim_fence,
    )  # fmt: skip
    await runtime.dispatcher.start()
    if runtime.poller is not None:
        runtime.poller.start()
    if moved:
        await announce_move(runtime.services)


def _halt(runtime: Runtime) -> None:
    """The lead is lost: not one more send or poll from this process."""
    if runtime.dispatcher is not None:
        runtime.dispatcher.halt()
    if runtime.poller is not None:
        runtime.poller.halt()


async def _stand_by(runtime: Runtime) -> None:
    """After ``_halt``: the sends in the air end and are settled, the poll is over."""
    dispatcher, runtime.dispatcher = runtime.dispatcher, None
    poller = runtime.poller

    async def settle() -> None:
        if dispatcher is not None:
            await dispatcher.stop()
        if poller is not None:
            graceful = runtime.leadership is not None and runtime.leadership.stopping
            await poller.stop(confirm=graceful)

    runtime.standing_by = asyncio.create_task(settle(), name="standing-by")
    await runtime.standing_by


def _leads(runtime: Runtime) -> bool:
    return runtime.leadership is None or runtime.leadership.leading


def _role(runtime: Runtime) -> Callable[[], str]:
    return lambda: "leader" if _leads(runtime) else "standby"


def _poller(runtime: Runtime, timeout: int) -> Poller:
    """The leader's getUpdates, told how each update it hands over ends."""
    application = runtime.application
    poller = Poller(
        application.bot, application.update_queue, timeout, ALLOWED_UPDATES,
        lambda: database_answers(runtime.services),
    )  # fmt: skip
    processor = application.update_processor
    if isinstance(processor, ChatOrderedUpdates):
        processor.finished = poller.finished
    others = dict(application.error_handlers)  # the poller's handler goes first
    application.error_handlers.clear()
    application.add_error_handler(poller.note_error)
    application.error_handlers.update(others)
    return poller


async def database_answers(services: Services) -> bool:
    """Whether a ``SELECT 1`` goes through now."""
    try:
        async with services.sessions() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception:
        return False
    return True
