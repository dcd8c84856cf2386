"""Officers' rows at the moment they go: news for someone who is no longer an officer is
cancelled, and a folded officers' message (a digest) is written then, so it shows the present."""

from __future__ import annotations

from typing import Any

from searchbot.cases.services import Services
from searchbot.delivery.line import Job
from searchbot.models import OutboxMessage, OutboxStatus
from searchbot.models.outbox import Kind
from searchbot.telling import digests


async def render_digest(services: Services, job: Job) -> dict[str, Any] | None:
    """A folded officers' message is written when it is sent: it shows the present."""
    async with services.sessions() as session:
        lang = str(job.payload.get("lang", services.settings.language))
        return await digests.render(services, session, job.chat_id, Kind(job.kind), lang)


async def still_officer(services: Services, job: Job) -> bool:
    """Whether officers' news may still go to ``job``'s chat; if not, the row is cancelled."""
    if job.chat_id < 0 or services.officers.is_admin(job.chat_id):
        return True  # the officers' group, an admin
    async with services.sessions() as session:
        if await services.officers.still_officer(session, job.chat_id):
            return True
        row = await session.get(OutboxMessage, job.id)
        if row is not None:
            row.status, row.last_error = OutboxStatus.CANCELLED, "no longer an officer"
            session.add(row)
            await session.commit()
    return False
