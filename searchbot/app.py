"""The composition root: builds the python-telegram-bot Application with the handlers, the
outbox dispatcher and the escalation tick wired to one set of services."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
from searchbot.delivery.dispatcher import Dispatcher
from searchbot.domain.clock import Clock, system_clock, use_zone
from searchbot.models import db
from searchbot.models.db import Sessions
from searchbot.models.doorbell import Doorbell
from searchbot.operations import logs, retention
from searchbot.operations.health import Metrics, OperationsServer
from searchbot.settings import Settings
from searchbot.telegram import menus
from searchbot.telegram.bot_http import AiohttpRequest
from searchbot.telegram.placeholder import PlaceholderStore
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
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .request(AiohttpRequest(pool_size=connections(settings), pool_timeout=10))
        .get_updates_request(AiohttpRequest(pool_size=1))
        .concurrent_updates(ChatOrderedUpdates(RUNNING_UPDATES, independent=is_crowd_press))
        .context_types(handlers.CONTEXT_TYPES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    runtime = Runtime(application, services, engine)
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
    runtime.dispatcher = Dispatcher(services, transport, metrics=runtime.metrics)
    await runtime.dispatcher.start()  # from here on it answers the doorbell
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _tick, interval=services.settings.tick_seconds, first=0.1, name="escalation-tick"
    )
    application.job_queue.run_repeating(_purge, interval=PURGE_EVERY, first=60, name="purge")
    await menus.install(application.bot, services)
    settings = services.settings
    operations = (
        OperationsServer(services, runtime.metrics, settings.metrics_listen)
        if settings.metrics_listen
        else None
    )
    if settings.web_listen:  # the command room; /healthz and /metrics too if on the same port
        shared = operations if settings.metrics_listen == settings.web_listen else None
        runtime.command_room = CommandRoom(
            services, settings.web_listen, shared.add_routes if shared else None
        )
        await runtime.command_room.start()
        operations = None if shared else operations
    if operations is not None:
        runtime.operations = operations
        await operations.start()


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    try:
        await escalation.tick(runtime.services)
        await reminders.tick(runtime.services)
        await exits.tick(runtime.services)
    except Exception:  # a failed tick is retried at the next one; the rows are still due
        log.exception("escalation tick failed")


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
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
    if settings.webhook_url:
        await _start_webhook(runtime)
        return
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=poll_interval, timeout=timeout, allowed_updates=ALLOWED_UPDATES
    )


async def _start_webhook(runtime: Runtime) -> None:
    """Serve the webhook (see ``searchbot.telegram.webhook``), then tell Telegram where it is."""
    application, settings = runtime.application, runtime.services.settings
    assert settings.webhook_url and settings.webhook_secret

    async def accept(data: dict[str, Any]) -> bool:
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


async def serve(runtime: Runtime) -> None:
    """Run until SIGINT or SIGTERM (``searchbot run`` in webhook mode)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await start(runtime)
    try:
        await stopping.wait()
    finally:
        await stop(runtime)


async def stop(runtime: Runtime) -> None:
    application = runtime.application
    if runtime.webhook is not None:
        await runtime.webhook.stop()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)
