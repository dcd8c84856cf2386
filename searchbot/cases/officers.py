"""Who is an officer, and where officers' views may be shown."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.actors import Actor
from searchbot.models import Officer
from searchbot.settings import Settings


@dataclass(frozen=True)
class OfficerRules:
    """Administrators come from the settings; officers are appointed (a row each); anyone
    acting inside the officers' group acts as an officer."""

    settings: Settings

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids

    def may_show_cases(self, actor: Actor) -> bool:
        """Whether officers' views of cases (cards, lists, sightings) may be shown where
        ``actor`` is: a private chat or the officers' group. In a merchant group a case card
        would put a child's and a family's data in front of strangers."""
        return actor.in_private or actor.chat_id == self.settings.officer_chat_id

    async def is_officer(self, session: AsyncSession, actor: Actor) -> bool:
        """Admins, appointed officers, and anyone acting inside the officers' group."""
        if self.is_admin(actor.user_id) or actor.chat_id == self.settings.officer_chat_id:
            return True
        officer = await session.get(Officer, actor.user_id)
        return officer is not None and officer.active
