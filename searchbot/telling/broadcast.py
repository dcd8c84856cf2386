"""Paid broadcast, as the alerts are written: which of a ring's alerts go paid (the case's
budget, ``searchbot.domain.broadcast``'s rule); and the officers' notice when the bot's Stars
could not pay for what the budget allowed (those alerts went at the free rate)."""

from __future__ import annotations

import math

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.broadcast import MINIMUM_BALANCE, paid_share, stars_text
from searchbot.domain.events import StarsShort
from searchbot.models import OutboxMessage, OutboxStatus
from searchbot.telling.audiences import officer_notice
from searchbot.words.texts import ref

# A paid row still counts against its case's budget unless it came to nothing (dead, cancelled):
# Telegram takes Stars only for messages delivered.
_SPENDING = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)


async def paid_alerts(services: Services, session: AsyncSession, case_id: int, ring: int) -> int:
    """How many of a ring's ``ring`` alerts (nearest first) go with paid broadcast: none while
    it is off or the free rate sends the ring within ten seconds, else as many as the case's
    budget still pays for."""
    settings = services.settings
    if settings.paid_budget <= 0:
        return 0
    used = await session.exec(
        select(func.count()).where(  # type: ignore[call-overload]
            col(OutboxMessage.case_id) == case_id,
            col(OutboxMessage.paid).is_(True),
            col(OutboxMessage.status).in_(_SPENDING),
        )
    )
    left = settings.paid_budget - int(used.one())
    return paid_share(ring, settings.global_per_second, left)


async def stars_short(services: Services, session: AsyncSession, event: StarsShort) -> None:
    """Officers, once per case: the Stars ran short, so many alerts go at the free rate (and
    about how long that takes)."""
    rate = services.settings.global_per_second
    await officer_notice(
        services, session, "stars_short", case_id=event.case_id,
        dedupe=f"stars-short:{event.case_id}", ref=ref(event.case_id), count=event.unpaid,
        balance="?" if event.balance is None else stars_text(event.balance),
        minimum=stars_text(MINIMUM_BALANCE),
        rate=f"{rate:g}", minutes=max(1, math.ceil(event.unpaid / rate / 60)),
    )  # fmt: skip
