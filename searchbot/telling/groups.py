"""Group requests and decisions: the officers' folded requests digest, the group's answer,
and a group the bot was removed from."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.events import (
    GroupDecided,
    GroupRegistered,
    GroupUnregistered,
    RecipientGone,
)
from searchbot.domain.messages import Out
from searchbot.models import queries as q
from searchbot.models.outbox import PEOPLE, Kind, enqueue
from searchbot.telling import digests
from searchbot.telling.audiences import (
    officer_notice,
)
from searchbot.words.texts import say


async def group_registered(
    services: Services, session: AsyncSession, event: GroupRegistered
) -> None:
    """Officers: the folded digest of pending group requests, now with this one."""
    await digests.refresh(services, session, digests.REQUESTS)


async def group_decided(services: Services, session: AsyncSession, event: GroupDecided) -> None:
    """Officers: the requests digest without it. The group: approved, or rejected."""
    await digests.refresh(services, session, digests.REQUESTS)
    group = await q.group_by_chat(session, event.chat_id)
    assert group is not None
    key = "approved_group" if event.approved else "rejected_group"
    await enqueue(
        session, group.chat_id, Out(say(group.language, key)), kind=Kind.NOTICE, lane=PEOPLE,
        now=services.now(),
    )  # fmt: skip


async def group_unregistered(
    services: Services, session: AsyncSession, event: GroupUnregistered
) -> None:
    """Officers: a request withdrawn leaves the requests digest."""
    if event.was_pending:
        await digests.refresh(services, session, digests.REQUESTS)


async def recipient_gone(services: Services, session: AsyncSession, event: RecipientGone) -> None:
    """Officers: a group the bot left (once), and the requests digest if it was waiting."""
    if event.was_pending:
        await digests.refresh(services, session, digests.REQUESTS)
    title = event.group_title
    if title is not None:
        await officer_notice(
            services, session, "recipient_gone", dedupe=f"gone:{event.chat_id}", chat=title
        )
