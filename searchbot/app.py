"""The composition root: builds the python-telegram-bot Application with the handlers, the
outbox dispatcher and the escalation tick wired to one set of services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, ApplicationBuilder, ContextTypes

import handlers
from handlers.buttons import CROWD_BUTTONS
from searchbot import db, escalation, menus, reminders, retention
from searchbot.bot_http import AiohttpRequest
from searchbot.clock import Clock, system_clock, use_zone
from searchbot.dispatcher import Dispatcher
from searchbot.operations import Metrics, OperationsServer
from searchbot.places import PlaceResolver
from searchbot.services import Services
from searchbot.settings import Settings
from searchbot.transport import TelegramTransport
from searchbot.update_order import ChatOrderedUpdates

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


def build(settings: Settings, clock: Clock = system_clock) -> Runtime:
    """Everything wired, nothing started. The token must be set."""
    assert settings.telegram_bot_token, "TELEGRAM_BOT_TOKEN is required"
    use_zone(settings.timezone)
    engine = db.create_engine(settings.database_url)
    built: list[Services] = []  # the sessions' commit hook needs the services made below
    sessions = db.sessions(engine, lambda: built[0].wake_dispatcher() if built else None)
    places = PlaceResolver(
        sessions, settings.service_area, settings.geocoder, settings.geocoder_domain
    )
    services = Services(settings=settings, sessions=sessions, places=places, clock=clock)
    built.append(services)
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .request(AiohttpRequest(pool_size=32, pool_timeout=10))
        .get_updates_request(AiohttpRequest(pool_size=1))
        .concurrent_updates(ChatOrderedUpdates(RUNNING_UPDATES, independent=CROWD_BUTTONS))
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
    services.bot_username = application.bot.username
    transport = TelegramTransport(application.bot, services.settings.allow_paid_broadcast)
    runtime.dispatcher = Dispatcher(services, transport, metrics=runtime.metrics)
    services.wake_dispatcher = runtime.dispatcher.wake
    services.note_direct_send = runtime.dispatcher.note_direct_send
    await runtime.dispatcher.start()
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _tick, interval=services.settings.tick_seconds, first=0.1, name="escalation-tick"
    )
    application.job_queue.run_repeating(_purge, interval=PURGE_EVERY, first=60, name="purge")
    await menus.install(application.bot, services)
    if services.settings.metrics_listen:
        runtime.operations = OperationsServer(
            services, runtime.metrics, services.settings.metrics_listen
        )
        await runtime.operations.start()


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    try:
        await escalation.tick(runtime.services)
        await reminders.tick(runtime.services)
    except Exception:  # a failed tick is retried at the next one; the rows are still due
        log.exception("escalation tick failed")


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    try:
        result = await retention.purge(runtime.services)
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
    if runtime.services.checks is not None:  # the presses' audit and counters still collected
        await runtime.services.checks.stop()
    if runtime.dispatcher is not None:
        await runtime.dispatcher.stop()
    await runtime.engine.dispose()


async def start(runtime: Runtime, poll_interval: float = 0.0, timeout: int = 10) -> None:
    """Start the bot inside the running event loop (tests, the demo): long polling, or the
    webhook when one is configured."""
    application, settings = runtime.application, runtime.services.settings
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    if settings.webhook_url:
        await application.updater.start_webhook(**webhook_options(settings))
        return
    await application.updater.start_polling(
        poll_interval=poll_interval, timeout=timeout, allowed_updates=ALLOWED_UPDATES
    )


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Where to listen and what to tell Telegram, for PTB's start_webhook / run_webhook."""
    assert settings.webhook_url
    host, port = settings.webhook_address
    return {
        "listen": host,
        "port": port,
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


async def stop(runtime: Runtime) -> None:
    application = runtime.application
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)
