"""What the outbox could not do, told to officers: sends in doubt after a restart, a row
that died, a photo Telegram would neither delete nor replace."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.events import (
    DeliveryFailed,
    PhotoStuck,
    SendsInDoubt,
)
from searchbot.telling.audiences import (
    officer_notice,
)
from searchbot.words.texts import ref


async def sends_in_doubt(services: Services, session: AsyncSession, event: SendsInDoubt) -> None:
    await officer_notice(services, session, "restart_duplicates", count=event.count)


async def delivery_failed(services: Services, session: AsyncSession, event: DeliveryFailed) -> None:
    await officer_notice(
        services, session, "delivery_dead", case_id=event.case_id, dedupe=f"dead:{event.row_id}",
        ref=ref(event.case_id or 0), chat=event.chat_id, error=event.error[:200],
    )  # fmt: skip


async def photo_stuck(services: Services, session: AsyncSession, event: PhotoStuck) -> None:
    await officer_notice(
        services, session, "photo_stuck", case_id=event.case_id, dedupe=f"stuck:{event.row_id}",
        ref=ref(event.case_id or 0), group=event.group_title, chat=event.chat_id,
    )  # fmt: skip
