"""The people who can be reached in a private chat, and in which language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from searchbot.domain.clock import Clock, as_utc
from searchbot.models import Person
from searchbot.models.db import Sessions


@dataclass(frozen=True)
class People:
    sessions: Sessions
    clock: Clock

    async def remember(
        self, user_id: int, first_name: str, username: str | None, language: str
    ) -> None:
        """Record that this person can be reached in private, and in which language.
        ``updated_at`` is when they were last heard from, to the day: retention forgets people
        who have been quiet for its whole period."""
        now = self.clock()
        async with self.sessions() as session:
            found = await session.get(Person, user_id)
            person = found or Person(user_id=user_id, updated_at=now)
            seen = (person.first_name, person.username, person.language, person.reachable)
            changed = seen != (first_name, username, language, True)
            quiet = now - as_utc(person.updated_at) > timedelta(days=1)
            if found is None or changed or quiet:
                person.first_name, person.username = first_name[:128], username
                person.language, person.reachable = language, True
                person.updated_at = now
                session.add(person)
                await session.commit()
