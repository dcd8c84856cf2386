"""A handler's answer goes to the outbox like every other message, so none is lost to a 429.

The dispatcher sends a reply as soon as its chat can take one (it is woken by the commit),
in order with that chat's other messages; a 429 or a timeout delays it instead of dropping it.
Uploads (a chart, an export) cannot be rows: the handler sends those itself, retrying.
"""

from __future__ import annotations

from collections.abc import Sequence

from searchbot.cases.services import Services
from searchbot.domain.messages import Out
from searchbot.models.outbox import PEOPLE, Kind, enqueue


async def post(services: Services, chat_id: int, messages: Sequence[Out]) -> None:
    """Queue ``messages`` for ``chat_id``, in this order, in one transaction."""
    if not messages:
        return
    async with services.sessions() as session:
        for out in messages:
            await enqueue(session, chat_id, out, kind=Kind.REPLY, lane=PEOPLE, now=services.now())
        await session.commit()
