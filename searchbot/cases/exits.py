"""Exits: the ways out a lost child may take, and who is watching them.

Landmarks of kind exit, entrance, metro or parking are ways out. A guard group's alert names
the ones nearest to it with an **Exit watched** button each; the officers' card counts the ways
out in the first ring that are watched and names the rest, and names water (a river, a
fountain, a pool) near the last-seen place: the first place to check for a small child. Ten
minutes (``SEARCHBOT_EXIT_WARNING``) after a report with first-ring exits still unwatched, the
officers are told which; the due time is a column of the case, claimed once by the tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.events import ExitsUnwatched
from searchbot.domain.grid import distance_m
from searchbot.domain.messages import Answer
from searchbot.models import (
    Case,
    CaseStatus,
    ExitWatch,
    Group,
    GroupRole,
    Landmark,
    LandmarkKind,
)
from searchbot.models import queries as q
from searchbot.words.cards import clip, distance_text
from searchbot.words.texts import Raw, ref, say

EXIT_KINDS = (LandmarkKind.EXIT, LandmarkKind.ENTRANCE, LandmarkKind.METRO, LandmarkKind.PARKING)
PER_GUARD_GROUP = 3
GUARD_REACH_M = 1000  # a guard group is given the exits it can reach on foot in minutes
WATER_NEAR_M = 500
SHOWN = 5
NAME_SHOWN = 40  # a card must still fit a photo's caption


async def ways_out(session: AsyncSession) -> Sequence[Landmark]:
    query = select(Landmark).where(col(Landmark.kind).in_(EXIT_KINDS)).order_by(col(Landmark.id))
    return (await session.exec(query)).all()


def nearest(
    landmarks: Sequence[Landmark], point: tuple[float, float], limit: int, reach_m: float
) -> list[tuple[float, Landmark]]:
    """The ``limit`` landmarks nearest ``point`` within ``reach_m``, nearest first."""
    ranked = sorted(((distance_m(point, (lm.lat, lm.lon)), lm) for lm in landmarks),
                    key=lambda pair: (pair[0], pair[1].id or 0))  # fmt: skip
    return [pair for pair in ranked if pair[0] <= reach_m][:limit]


async def watch(
    services: Services, actor: Actor, case_id: int, landmark_id: int, on_its_button: bool = False
) -> Answer:
    """**Exit watched** on a guard group's alert: the first press for an exit counts. Only a
    guard group's press counts, for one of the exits its alert offered, pressed on that alert's
    own button (``on_its_button``: Telegram delivered it from a button the message carries). A
    forged press from a shop's group, or for an exit nobody asked the group to watch, would
    tell the officers an exit is covered when it is not."""
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
        lang = group.language if group else actor.language
        alert = await q.alert_of_group(session, case_id, group.id) if group and group.id else None
        case = await session.get(Case, case_id)
        if group is None or alert is None or case is None:
            return Answer(toast=say(lang, "stale_button"))
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case_id)))
        landmark = await _offered(session, group, landmark_id) if on_its_button else None
        if landmark is None:
            return Answer(toast=say(lang, "exit_not_offered"))
        existing = await session.exec(
            select(ExitWatch).where(
                ExitWatch.case_id == case_id, ExitWatch.landmark_id == landmark_id
            )
        )
        if existing.first() is not None:
            return Answer(toast=say(lang, "exit_watched_already", exit=landmark.name))
        session.add(
            ExitWatch(case_id=case_id, landmark_id=landmark_id, group_chat_id=actor.chat_id,
                      user_id=actor.user_id, at=services.now())
        )  # fmt: skip
        await services.audit.record(session, actor.user_id, "exit_watched", case_id,
                             exit=landmark.name, chat_id=actor.chat_id)  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:  # another guard's press got there first
            return Answer(toast=say(lang, "exit_watched_already", exit=landmark.name))
    return Answer(toast=say(lang, "exit_watched_thanks", exit=landmark.name))


async def _offered(session: AsyncSession, group: Group, landmark_id: int) -> Landmark | None:
    """The exit ``landmark_id`` if the group's alert offered it: a guard group's nearest ways
    out, chosen the way its alert chose them (``playbooks.jobs``); else None."""
    if group.role != GroupRole.GUARD or group.lat is None or group.lon is None:
        return None
    near = nearest(await ways_out(session), (group.lat, group.lon), PER_GUARD_GROUP,
                   GUARD_REACH_M)  # fmt: skip
    return next((landmark for _, landmark in near if landmark.id == landmark_id), None)


@dataclass(frozen=True)
class ExitState:
    """The ways out in a case's first ring, each watched or not, and water nearby."""

    watched: list[str]
    unwatched: list[str]
    water: list[tuple[str, float]]


async def state(services: Services, session: AsyncSession, case: Case) -> ExitState:
    point = (case.lat, case.lon)
    first_ring = services.settings.escalation[0].radius_m
    ring = nearest(await ways_out(session), point, 1000, first_ring)
    watched_ids = set(
        (
            await session.exec(select(ExitWatch.landmark_id).where(ExitWatch.case_id == case.id))
        ).all()
    )
    water_query = select(Landmark).where(Landmark.kind == LandmarkKind.WATER)
    water = nearest(
        (await session.exec(water_query)).all(), point, 3, max(WATER_NEAR_M, first_ring)
    )
    return ExitState(
        watched=[lm.name for _, lm in ring if lm.id in watched_ids],
        unwatched=[lm.name for _, lm in ring if lm.id not in watched_ids],
        water=[(lm.name, metres) for metres, lm in water],
    )


def render(exits: ExitState, lang: str) -> str:
    """The exits and water lines of an officer's card; empty when the area has none."""
    lines = []
    total = len(exits.watched) + len(exits.unwatched)
    if total:
        lines.append(
            say(
                lang,
                "exits_card",
                watched=len(exits.watched),
                total=total,
                names=Raw(names_text(exits.watched, lang)),
                unwatched=Raw(names_text(exits.unwatched, lang)),
            )  # fmt: skip
        )
    if exits.water:
        spots = ", ".join(
            f"{clip(name, NAME_SHOWN)} ({distance_text(metres, lang)})"
            for name, metres in exits.water
        )
        lines.append(say(lang, "water_card", spots=spots))
    return "\n".join(lines)


def names_text(names: Sequence[str], lang: str) -> str:
    """Exit names for a text (HTML), the first few and "…"."""
    if not names:
        return say(lang, "exits_none")
    shown = ", ".join(escape(clip(name, NAME_SHOWN)) for name in names[:SHOWN])
    return shown + (" …" if len(names) > SHOWN else "")


def schedule(services: Services, case: Case) -> None:
    """A new case: when to check its first-ring exits."""
    case.exits_due_at = case.created_at + services.settings.exit_warning


async def tick(services: Services, limit: int = 20) -> int:
    """Warn the officers of every case whose exit check is due; returns how many were warned."""
    now = services.now()
    async with services.sessions() as session:
        query = (
            select(Case.id)
            .where(Case.status == CaseStatus.OPEN, col(Case.exits_due_at).is_not(None))
            .where(col(Case.exits_due_at) <= now)
            .limit(limit)
        )
        due = [case_id for case_id in (await session.exec(query)).all() if case_id is not None]
    warned = 0
    for case_id in due:
        if await _warn(services, case_id, now):
            warned += 1
    return warned


async def _warn(services: Services, case_id: int, now: datetime) -> bool:
    async with services.sessions() as session:
        claim = (
            update(Case)
            .where(col(Case.id) == case_id, col(Case.status) == CaseStatus.OPEN)
            .where(col(Case.exits_due_at).is_not(None), col(Case.exits_due_at) <= now)
            .values(exits_due_at=None)
            .execution_options(synchronize_session=False)
        )
        if (await session.exec(claim)).rowcount != 1:  # type: ignore[call-overload]
            return False  # another process (or tick) claimed it
        case = await session.get(Case, case_id)
        assert case is not None
        exits = await state(services, session, case)
        if exits.unwatched:
            minutes = int(services.settings.exit_warning.total_seconds() // 60)
            warning = ExitsUnwatched(case_id, tuple(exits.unwatched), minutes)
            await services.publish(session, warning)
            await services.audit.record(
                session, None, "exits_unwatched", case_id, exits=exits.unwatched
            )
        await session.commit()
    return bool(exits.unwatched)
