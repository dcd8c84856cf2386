"""Whether the bot itself kept going, told to officers: another instance took over the sending,
or Telegram was out of reach for a while and what it held back is going out late."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.events import DeliveryLate, LeadershipMoved
from searchbot.telling.audiences import officer_notice


async def leadership_moved(
    services: Services, session: AsyncSession, event: LeadershipMoved
) -> None:
    await officer_notice(services, session, "leadership_moved", count=event.open_cases)


async def delivery_late(services: Services, session: AsyncSession, event: DeliveryLate) -> None:
    minutes = max(1, round(event.seconds / 60))
    await officer_notice(services, session, "delivery_late", minutes=minutes)
