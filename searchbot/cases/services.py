"""What every use case needs: settings, the database, the clock, place lookup, and the few
rules shared by all of them (who is an officer, who hears officer news, the audit log)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.places import PlaceResolver
from searchbot.domain.clock import Clock, as_utc, system_clock
from searchbot.domain.messages import Out
from searchbot.models import AuditEntry, Officer, Person
from searchbot.models import queries as q
from searchbot.models.db import Sessions
from searchbot.models.doorbell import Doorbell
from searchbot.models.outbox import PEOPLE, enqueue
from searchbot.settings import Settings

if TYPE_CHECKING:
    from searchbot.cases.checks import Checks
    from searchbot.domain.events import Event


Teller = Callable[["Services", AsyncSession, "Event"], Awaitable[None]]
"""Writes everyone's messages about one event into the outbox, in the caller's transaction
(``searchbot.telling.notify.tell``, wired by the composition root)."""


# Marks an outbox row as officers' news: removing an officer cancels those still queued for them.
FOR_OFFICERS = "for_officers"


# What could pass for a Telegram id inside a display name: a bracket holding digits ("(id
# 9000)", "【9000】"), "id 9000", or a long run of digits.
_ID_LOOKALIKE = re.compile(
    r"[(\[（【][^)\]）】]*\d[^)\]）】]*[)\]）】]?|\bid\s*[:：#=]?\s*\d+|\d{4,}", re.IGNORECASE
)


def person_label(name: str, user_id: int) -> str:
    """How officers' cards name a person: the display name, cleared of anything that could
    pass for an id and on one line, then the real id. A name is whatever the person typed into
    Telegram; "Li (id 9001)" must not make a stranger look like officer 9001."""
    shown = " ".join(_ID_LOOKALIKE.sub(" ", name).split())[:64] or "?"
    return f"{shown} (id {user_id})"


@dataclass(frozen=True)
class Actor:
    """Who is acting, and where: the identity every use case checks permissions against."""

    user_id: int
    chat_id: int
    name: str = ""
    language: str = "zh"

    @property
    def in_private(self) -> bool:
        return self.chat_id == self.user_id


@dataclass
class Services:
    """Built once by the composition root (``app.build``, the CLI), each collaborator given
    here; only ``bot_username`` is learned later, from Telegram (getMe) at start-up."""

    settings: Settings
    sessions: Sessions
    places: PlaceResolver
    doorbell: Doorbell  # the outbox dispatcher's (also rung by ``sessions``' commits)
    checks: Checks  # the recorder of "Checked" presses (searchbot.cases.checks)
    clock: Clock = system_clock
    bot_username: str = "searchbot"
    # the teller: use cases record what happened and never import who hears of it
    teller: Teller = field(kw_only=True)

    def now(self) -> datetime:
        return self.clock()

    async def publish(self, session: AsyncSession, *events: Event) -> None:
        """Tell everyone who hears of ``events``, in order, inside ``session``'s transaction:
        their messages are written if and only if the change they report commits."""
        for event in events:
            await self.teller(self, session, event)

    def wake_dispatcher(self) -> None:
        """Outbox rows were committed: the dispatcher looks now, not at its next round."""
        self.doorbell.ring()

    def note_direct_send(self, chat_id: int) -> None:
        """A handler sent to ``chat_id`` directly: the dispatcher counts it against the limits."""
        self.doorbell.note_direct_send(chat_id)

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

    async def officer_chats(self, session: AsyncSession) -> list[tuple[int, str]]:
        """(chat id, language) of everyone who hears officer news: the officers' group and each
        admin's and officer's private chat with the bot."""
        chats: list[tuple[int, str]] = []
        if self.settings.officer_chat_id is not None:
            chats.append((self.settings.officer_chat_id, self.settings.language))
        ids = sorted(set(self.settings.admin_ids) | set(await q.officer_ids(session)))
        chats += [(p.user_id, p.language) for p in await q.reachable_people(session, ids)]
        return chats

    async def tell_officers(
        self,
        session: AsyncSession,
        render: Callable[[str], Out],
        *,
        kind: str,
        case_id: int | None = None,
        dedupe: str | None = None,
    ) -> None:
        """Enqueue one message per officer chat, each in that chat's language."""
        for chat_id, language in await self.officer_chats(session):
            key = f"{dedupe}:{chat_id}" if dedupe else None
            await enqueue(
                session,
                chat_id,
                render(language).for_chat(chat_id).to_payload() | {FOR_OFFICERS: True},
                kind=kind,
                case_id=case_id,
                lane=PEOPLE,
                now=self.now(),
                dedupe_key=key,
            )

    async def pin_for_officers(
        self,
        session: AsyncSession,
        point: tuple[float, float],
        case_id: int | None = None,
        found_id: int | None = None,
    ) -> None:
        """A map pin after a card: officers plan with a map. ``found_id``: a found child's
        pin, forgotten with the report."""
        for chat_id, _ in await self.officer_chats(session):
            await enqueue(
                session, chat_id, Out(location=point).to_payload() | {FOR_OFFICERS: True},
                kind="pin", case_id=case_id, lane=PEOPLE, now=self.now(), found_id=found_id,
            )  # fmt: skip

    async def audit(
        self,
        session: AsyncSession,
        actor_user_id: int | None,
        action: str,
        case_id: int | None = None,
        **detail: Any,
    ) -> None:
        session.add(
            AuditEntry(
                at=self.now(),
                actor_user_id=actor_user_id,
                action=action,
                case_id=case_id,
                detail=detail,
            )
        )

    async def remember_person(
        self, user_id: int, first_name: str, username: str | None, language: str
    ) -> None:
        """Record that this person can be reached in private, and in which language.
        ``updated_at`` is when they were last heard from, to the day: retention forgets people
        who have been quiet for its whole period."""
        now = self.now()
        async with self.sessions() as session:
            found = await session.get(Person, user_id)
            person = found or Person(user_id=user_id, updated_at=now)
            changed = (person.first_name, person.username, person.language, person.reachable) != (
                first_name,
                username,
                language,
                True,
            )
            quiet = now - as_utc(person.updated_at) > timedelta(days=1)
            if found is None or changed or quiet:
                person.first_name, person.username = first_name[:128], username
                person.language, person.reachable = language, True
                person.updated_at = now
                session.add(person)
                await session.commit()

    def deep_link(self, payload: str) -> str:
        return f"https://t.me/{self.bot_username}?start={payload}"
