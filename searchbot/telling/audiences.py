"""The audiences: the family of a case, every officer chat (each in its language, marked as
officers' news so a removed officer's queue is cancelled), and how officers' cards name a person."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.messages import Out
from searchbot.models import (
    Case,
)
from searchbot.models import queries as q
from searchbot.models.outbox import FOR_OFFICERS, PEOPLE, Kind, enqueue
from searchbot.models.stations import officers_of, reached
from searchbot.words.cards import (
    CAPTION_LIMIT,
    visible_length,
)
from searchbot.words.texts import say

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


Scope = set[int | None] | None
"""Stations whose officers hear something (``None`` in the set: the default station; the
scope ``None``: every station)."""
EVERYWHERE: Scope = None


async def officer_chats(
    services: Services, session: AsyncSession, stations: Scope = EVERYWHERE
) -> list[tuple[int, str]]:
    """(chat id, language) of everyone who hears officer news of ``stations``: each one's
    officers' group, its administrators' and officers' private chats, and the city
    administrators'. With no station imported: the officers' group and every officer."""
    directory = await services.officers.directory(session)
    every = [directory.default, *directory.imported]
    chosen = every if stations is None else [p for p in every if p.id in stations]
    chats: list[tuple[int, str]] = []
    for station in chosen:
        if station.officer_chat_id is not None and station.officer_chat_id not in dict(chats):
            chats.append((station.officer_chat_id, station.language))
    ids = set(services.settings.admin_ids)
    for station in chosen:
        if station.id is None:
            ids |= set(await q.officer_ids(session))
        else:
            ids |= set(await officers_of(session, station.id)) | station.admin_ids
    chats += [(p.user_id, p.language) for p in await q.reachable_people(session, sorted(ids))]
    return chats


async def case_scope(session: AsyncSession, case_id: int, *, joined: bool = False) -> Scope:
    """The station owning the case, and with ``joined`` those that joined its search."""
    case = await session.get(Case, case_id)
    if case is None:
        return EVERYWHERE
    scope: set[int | None] = {case.station_id}
    if joined:
        scope |= {r.station_id for r in await reached(session, case_id) if r.joined_at}
    return scope


async def tell_officers(
    services: Services,
    session: AsyncSession,
    render: Callable[[str], Out],
    *,
    kind: Kind,
    case_id: int | None = None,
    dedupe: str | None = None,
    rank: float | None = None,
    found_id: int | None = None,
    joined: bool = False,
    stations: Scope = EVERYWHERE,
) -> None:
    """One message per officer chat, each in that chat's language, marked as officers' news:
    the dispatcher sends it only to someone who is still an officer when it goes, and removing
    an officer cancels what is still queued for them. A card too long for a photo's caption
    goes as the photo, then the text with the buttons. ``rank``: its place in the chat's
    queue (a found child goes ahead of everything). ``found_id``: the found child's report the
    rows tell of: forgetting it deletes them (they hold the finder's words). ``stations``: who
    hears; by default, about a case, the owning station (``joined``: and the stations that
    joined), else every station."""
    if case_id is not None and stations is EVERYWHERE:
        stations = await case_scope(session, case_id, joined=joined)
    for chat_id, language in await officer_chats(services, session, stations):
        key = f"{dedupe}:{chat_id}" if dedupe else None
        for part, out in enumerate(_caption_split(render(language).for_chat(chat_id))):
            await enqueue(
                session, chat_id, out.to_payload() | {FOR_OFFICERS: True}, kind=kind,
                case_id=case_id, lane=PEOPLE, now=services.now(), rank=rank,
                dedupe_key=f"{key}:{part}" if key and part else key, found_id=found_id,
            )  # fmt: skip


def _caption_split(out: Out) -> list[Out]:
    if out.photo and visible_length(out.text) > CAPTION_LIMIT:
        return [Out(photo=out.photo), replace(out, photo=None)]
    return [out]


async def pin_for_officers(
    services: Services,
    session: AsyncSession,
    point: tuple[float, float],
    case_id: int | None = None,
    *,
    kind: Kind = Kind.PIN,
    rank: float | None = None,
    found_id: int | None = None,
    joined: bool = False,
    stations: Scope = EVERYWHERE,
) -> None:
    """A map pin after a card: officers plan with a map. ``found_id``: a found child's pin,
    forgotten with the report."""
    await tell_officers(
        services,
        session,
        lambda _: Out(location=point),
        kind=kind,
        case_id=case_id,
        rank=rank,
        found_id=found_id,
        joined=joined,
        stations=stations,
    )


async def case_of(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    assert case is not None, f"case {case_id} is gone"
    return case


async def to_family(services: Services, session: AsyncSession, case: Case, out: Out) -> None:
    await enqueue(
        session, case.reporter_chat_id, out, kind=Kind.NOTICE, case_id=case.id, lane=PEOPLE,
        now=services.now(),
    )  # fmt: skip


async def officer_notice(
    services: Services,
    session: AsyncSession,
    key: str,
    *,
    case_id: int | None = None,
    dedupe: str | None = None,
    joined: bool = False,
    stations: Scope = EVERYWHERE,
    **values: Any,
) -> None:
    """One text (``key`` with ``values``) to every officer chat (of the case's station, or
    of ``stations``), each in its language."""
    await tell_officers(
        services, session, lambda lang: Out(say(lang, key, **values)), kind=Kind.NOTICE, case_id=case_id,
        dedupe=dedupe, joined=joined, stations=stations,
    )  # fmt: skip
