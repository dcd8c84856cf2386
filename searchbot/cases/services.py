"""What the use cases are given: each collaborator by name, one job each (settings, the
database's sessions, the clock, place lookup, the "Checked" recorder, the officer rules, the
audit log, the people the bot can reach, deep links, and the teller that publishes events).
Built by the composition root (``searchbot.app.services_for``) for the bot and the CLI alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.audit import AuditLog
from searchbot.cases.links import DeepLinks
from searchbot.cases.officers import OfficerRules
from searchbot.cases.people import People
from searchbot.cases.places import PlaceResolver
from searchbot.domain.clock import Clock, system_clock
from searchbot.models.db import Sessions
from searchbot.models.doorbell import Doorbell
from searchbot.settings import Settings

if TYPE_CHECKING:
    from searchbot.cases.checks import Checks
    from searchbot.domain.events import Event


Teller = Callable[["Services", AsyncSession, "Event"], Awaitable[None]]
"""Writes everyone's messages about one event into the outbox, in the caller's transaction
(``searchbot.telling.notify.tell``, wired by the composition root)."""


@dataclass
class Services:
    """The use cases' collaborators, each given by the composition root; only the bot's
    username (in ``links``) is learned later, from Telegram (getMe) at start-up."""

    settings: Settings
    sessions: Sessions
    places: PlaceResolver
    doorbell: Doorbell  # the outbox dispatcher's (also rung by ``sessions``' commits)
    checks: Checks  # the recorder of "Checked" presses (searchbot.cases.checks)
    clock: Clock = system_clock
    # the teller: use cases record what happened and never import who hears of it
    teller: Teller = field(kw_only=True)
    officers: OfficerRules = field(kw_only=True)
    audit: AuditLog = field(kw_only=True)
    people: People = field(kw_only=True)
    links: DeepLinks = field(kw_only=True)

    def now(self) -> datetime:
        return self.clock()

    async def publish(self, session: AsyncSession, *events: Event) -> None:
        """Tell everyone who hears of ``events``, in order, inside ``session``'s transaction:
        their messages are written if and only if the change they report commits."""
        for event in events:
            await self.teller(self, session, event)
