"""What a station's monitoring sees: ``/healthz`` and Prometheus ``/metrics``.

Gauges that live in the database (outbox depth per lane, open cases, tick lag) are read when
scraped; counters (sends by result, 429s) are counted by the dispatcher as it goes. Each running
bot has its own registry, so tests can run several in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from sqlalchemy import func, text
from sqlmodel import col, select

from searchbot.cases.services import Services
from searchbot.models import Case, CaseStatus, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
LANES = {0: "people", 1: "retractions", 2: "alerts"}


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.outbox_depth = Gauge(
            "searchbot_outbox_depth", "Messages waiting to be sent", ["lane"], registry=r
        )
        self.sends = Counter(
            "searchbot_sends", "Bot API sends by kind and result", ["kind", "result"], registry=r
        )
        self.throttled = Counter(
            "searchbot_telegram_429", "429 Too Many Requests answers received", registry=r
        )
        self.send_rate = Gauge(
            "searchbot_send_rate",
            "Messages a second the dispatcher allows itself now (lowered after an overall 429)",
            registry=r,
        )
        self.webhook_refused = Counter(
            "searchbot_webhook_refused",
            "Webhook posts refused for a missing or wrong secret",
            ["reason"],
            registry=r,
        )
        self.overall_pauses = Counter(
            "searchbot_overall_limit_pauses",
            "Times 429s for several chats at once paused every send",
            registry=r,
        )
        self.open_cases = Gauge("searchbot_open_cases", "Cases still open", registry=r)
        self.tick_lag = Gauge(
            "searchbot_tick_lag_seconds", "How late the most overdue stage is", registry=r
        )
        self.leader = Gauge(
            "searchbot_leader", "1 while this instance leads (polls, sends, ticks)", registry=r
        )
        self.leader_changes = Counter(
            "searchbot_leader_changes", "Times this instance took or lost the lead", registry=r
        )

    def sent(self, kind: str, result: str) -> None:
        self.sends.labels(kind=kind, result=result).inc()
        if result == "throttled":
            self.throttled.inc()


async def refresh(services: Services, metrics: Metrics) -> None:
    """Read the gauges that live in the database."""
    now = services.now()
    async with services.sessions() as session:
        depth = await session.exec(
            select(OutboxMessage.lane, func.count())
            .where(col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .group_by(col(OutboxMessage.lane))
        )
        counts = dict(depth.all())
        open_cases = await session.exec(select(func.count()).where(Case.status == CaseStatus.OPEN))
        overdue = await session.exec(
            select(func.min(Case.next_stage_at)).where(Case.status == CaseStatus.OPEN)
        )
        oldest = overdue.one()
        metrics.open_cases.set(open_cases.one())  # type: ignore[arg-type]
    for lane, name in LANES.items():
        metrics.outbox_depth.labels(lane=name).set(counts.get(lane, 0))
    metrics.tick_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


class OperationsServer:
    """``/healthz`` (200 when the database answers, with this instance's role: ``leader`` or
    ``standby``) and ``/metrics`` on one address.

    ``searchbot run`` starts it before it waits for the database and Telegram: while it waits,
    ``/healthz`` answers 503 with what it waits for (``waiting``), and ``/metrics`` the counters
    without the gauges read from the database."""

    def __init__(
        self,
        services: Services,
        metrics: Metrics,
        listen: str,
        role: Callable[[], str] = lambda: "leader",
    ) -> None:
        self._services, self._metrics, self._role = services, metrics, role
        host, _, port = listen.rpartition(":")
        self._host, self._port = host, int(port)
        self._runner: web.AppRunner | None = None
        self._waiting: str | None = None

    @property
    def started(self) -> bool:
        return self._runner is not None

    def waiting(self, reason: str | None) -> None:
        """The start waits for this (None: it waits for nothing any more)."""
        self._waiting = reason

    def serve(self, services: Services, metrics: Metrics, role: Callable[[], str]) -> None:
        """Answer for these (a bot built anew after a start that failed half-way)."""
        self._services, self._metrics, self._role = services, metrics, role

    def add_routes(self, app: web.Application) -> None:
        """``/healthz`` and ``/metrics`` on ``app`` (the command room's, when they share a port)."""
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._scrape)

    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("operations endpoint on %s:%s", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _request: web.Request) -> web.Response:
        if self._waiting is not None:
            return web.Response(status=503, text=f"starting: {self._waiting}\n")
        try:
            async with self._services.sessions() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        except Exception as error:  # any failure means "not healthy"; say which
            return web.Response(status=503, text=f"database: {error.__class__.__name__}\n")
        return web.Response(text=f"ok {self._role()}\n")

    async def _scrape(self, _request: web.Request) -> web.Response:
        if self._waiting is None:  # while starting the database may not answer yet
            await refresh(self._services, self._metrics)
        body = generate_latest(self._metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
