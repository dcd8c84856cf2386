"""Groups join the network: ``/register ROLE``, then their location; officers approve.

Only a group's own Telegram administrators may register or unregister it (the adapter asks
Telegram and passes ``is_chat_admin``), and only approved groups ever receive an alert.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.checks import AGAIN, NEW, Press
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.clock import as_utc
from searchbot.domain.events import GroupDecided, GroupRegistered, GroupUnregistered, RecipientGone
from searchbot.domain.grid import cells_of
from searchbot.domain.messages import Answer
from searchbot.models import Group, GroupRole, GroupStatus, OutboxMessage, OutboxStatus, Person
from searchbot.models import queries as q
from searchbot.models.outbox import RETRACTION_KINDS, mark
from searchbot.settings import LANGUAGES
from searchbot.words.texts import say

ROLES = tuple(GroupRole)


async def register(
    services: Services,
    actor: Actor,
    role: str | None,
    title: str,
    is_chat_admin: bool,
    language: str | None = None,
) -> Answer:
    """``/register ROLE [zh|en]`` in a group: remember the role and the group's language (the
    admin's own when not given) and ask for the location."""
    lang = language if language in LANGUAGES else actor.language
    if not is_chat_admin:
        return Answer().say(say(lang, "register_admins_only"))
    if role not in ROLES:
        return Answer().say(say(lang, "register_usage"))
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
        if group is not None and group.status in (GroupStatus.PENDING, GroupStatus.APPROVED):
            status = say(lang, f"status_{group.status}")
            return Answer().say(say(lang, "register_already", status=status))
        refusal = await _limited(services, session, group, actor, lang)
        if refusal is not None:
            return refusal
        if group is None:
            group = Group(
                chat_id=actor.chat_id,
                role=GroupRole(role),
                registered_by=actor.user_id,
                created_at=services.now(),
            )
        group.role, group.title, group.status = GroupRole(role), title[:256], GroupStatus.LOCATING
        group.language, group.registered_by = lang, actor.user_id
        session.add(group)
        await session.commit()
    return Answer().say(say(lang, "register_ask_location"), force_reply=True)


async def _limited(
    services: Services, session: AsyncSession, group: Group | None, actor: Actor, lang: str
) -> Answer | None:
    """Officers' attention is scarce: a group waits after /unregister or a rejection, and a
    person may send only so many requests a day. The refusal, or None."""
    now = services.now()
    if group is not None and group.cooldown_until is not None:
        left = (as_utc(group.cooldown_until) - now).total_seconds()
        if left > 0:
            return Answer().say(say(lang, "register_cooldown", minutes=math.ceil(left / 60)))
    if services.officers.is_admin(actor.user_id):
        return None
    cap = services.settings.registrations_per_day
    sent = await q.group_requests_since(session, actor.user_id, now - timedelta(days=1))
    if sent >= cap:
        return Answer().say(say(lang, "register_daily_cap", count=sent))
    return None


async def locate(
    services: Services,
    actor: Actor,
    lat: float,
    lon: float,
    is_chat_admin: Callable[[], Awaitable[bool]],
) -> Answer | None:
    """The group's location (a reply to the bot): the request goes to the officers. None when
    this group is not waiting for a location. Only an administrator of the group may answer
    (``is_chat_admin`` asks Telegram, and only then): a member could place it anywhere."""
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
        if group is None or group.status != GroupStatus.LOCATING:
            return None
        lang = group.language
        if not await is_chat_admin():
            return Answer().say(say(lang, "register_admins_only"))
        station = (await services.officers.directory(session)).locate(lat, lon)
        if station is None:
            return Answer().say(say(lang, "place_outside"), force_reply=True)
        group.station_id = station.id  # only that station's officers see and decide it
        group.lat, group.lon = lat, lon
        group.cell_fine, group.cell_coarse = cells_of(lat, lon)
        group.status = GroupStatus.PENDING
        session.add(group)
        await services.audit.record(session, actor.user_id, "group_request", chat_id=group.chat_id)
        await services.publish(session, GroupRegistered(group.chat_id))
        await session.commit()
    return Answer().say(say(lang, "register_sent"))


async def decide(services: Services, actor: Actor, chat_id: int, approve: bool) -> Answer:
    """An officer approves or rejects a group; the group is told."""
    lang = actor.language
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            return Answer(toast=say(lang, "officers_only")).say(say(lang, "officers_only"))
        group = await q.group_by_chat(session, chat_id)
        if group is None or group.status == GroupStatus.LOCATING:
            return Answer().say(say(lang, "no_such_group", chat_id=chat_id))
        stations = await services.officers.stations_for(session, actor)
        if stations is not None and group.station_id not in stations:  # another station's
            return Answer(toast=say(lang, "officers_only")).say(say(lang, "officers_only"))
        decision = GroupStatus.APPROVED if approve else GroupStatus.REJECTED
        if group.status == decision:  # a replayed button or a second officer's tap
            text = say(
                lang, "group_already", title=group.title, status=say(lang, f"status_{decision}")
            )
            return Answer(toast=text).say(text)
        group.status = decision
        group.decided_by, group.decided_at = actor.user_id, services.now()
        if not approve:
            group.cooldown_until = services.now() + services.settings.register_cooldown
        session.add(group)
        await services.publish(session, GroupDecided(group.chat_id, approve))
        action = "group_approve" if approve else "group_reject"
        await services.audit.record(session, actor.user_id, action, chat_id=chat_id)
        await session.commit()
    text = say(lang, "group_approved" if approve else "group_rejected", title=group.title)
    return Answer(toast=text).say(text)


async def unregister(services: Services, actor: Actor, is_chat_admin: bool) -> Answer:
    lang = actor.language
    if not is_chat_admin:
        return Answer().say(say(lang, "register_admins_only"))
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
        if group is None:
            return Answer().say(say(lang, "not_registered"))
        was_pending = group.status == GroupStatus.PENDING
        group.status = GroupStatus.INACTIVE
        group.cooldown_until = services.now() + services.settings.register_cooldown
        session.add(group)
        await services.audit.record(
            session, actor.user_id, "group_unregister", chat_id=actor.chat_id
        )
        await services.publish(session, GroupUnregistered(group.chat_id, was_pending))
        await session.commit()
    return Answer().say(say(lang, "unregistered"))


async def status(services: Services, actor: Actor) -> Answer:
    lang = actor.language
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
        if group is None:
            return Answer().say(say(lang, "not_registered"))
        alerts = await q.alerts_of_group(session, group.id or 0)
    return Answer().say(
        say(
            group.language,
            "group_status",
            role=say(group.language, f"role_{group.role}"),
            status=say(group.language, f"status_{group.status}"),
            alerts=alerts,
        )
    )


async def checked(
    services: Services, actor: Actor, case_id: int, on_its_button: bool = False
) -> Answer:
    """ "Checked — not here" on an alert: counted once per member (the first one also marks
    the group as checked), stored in a batch with the presses of the same moment. A press that
    Telegram delivered from the alert's own button is answered at once and stored right after;
    any other (forged, or its message unknown) is answered once the database has judged it.
    The toast is in the presser's own language: only they see it."""
    if on_its_button or actor.in_private:
        return checked_at_once(services, actor, case_id)
    outcome = await services.checks.press(Press(case_id, actor.chat_id, actor.user_id))
    return _checked_answer(actor, outcome)


def checked_at_once(services: Services, actor: Actor, case_id: int) -> Answer:
    """ "Checked — not here" pressed on the alert's own button (Telegram says so): answered
    now, without waiting for the database, which counts it in the batch right after."""
    if actor.in_private:  # an alert lives in a group
        return Answer(toast=say(actor.language, "stale_button"))
    press = Press(case_id, actor.chat_id, actor.user_id)
    return _checked_answer(actor, services.checks.press_now(press))


def _checked_answer(actor: Actor, outcome: str) -> Answer:
    key = {NEW: "checked_thanks", AGAIN: "checked_already"}.get(outcome, "stale_button")
    return Answer(toast=say(actor.language, key))


async def recipient_gone(services: Services, chat_id: int, reason: str) -> None:
    """The bot was removed from a group or blocked by a person (learnt from a 403 or from
    Telegram's membership update): stop writing there; officers hear of a group, once."""
    async with services.sessions() as session:
        group = await q.group_by_chat(session, chat_id)
        was_pending = group is not None and group.status == GroupStatus.PENDING
        if group is not None:
            group.status = GroupStatus.INACTIVE
            session.add(group)
        person = await session.get(Person, chat_id)
        if person is not None:
            person.reachable = False
            session.add(person)
        waiting = (
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        )
        retraction = col(OutboxMessage.kind).in_(RETRACTION_KINDS)
        if group is not None:  # the photo must still leave once the bot is back: hold those
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(*waiting, retraction)
                .values(status=OutboxStatus.HELD, last_error=reason[:512])
            )
        # a conversation's answer (a report's summary: name, description, phone) belongs to no
        # case, so no purge would reach it: dying here, it keeps no words, as when it is sent
        await session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(*waiting, col(OutboxMessage.kind) == "reply")
            .values(payload={})
        )
        await session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(*waiting)
            .values(status=OutboxStatus.DEAD, last_error=reason[:512])
        )
        title = group.title if group is not None else None
        await services.publish(session, RecipientGone(chat_id, title, was_pending))
        # a group by its id; a person who blocked the bot stays unnamed in the audit log
        await services.audit.record(
            session, None, "recipient_gone", chat_id=chat_id if group else None
        )
        await session.commit()


async def bot_added(services: Services, actor: Actor, by_chat_admin: bool) -> Answer:
    """The bot joined a group: welcome it if an administrator added it; otherwise explain
    (the adapter then leaves the group)."""
    if not by_chat_admin:
        return Answer().say(say(actor.language, "added_by_non_admin"))
    async with services.sessions() as session:
        group = await q.group_by_chat(session, actor.chat_id)
        if group is not None and group.status == GroupStatus.INACTIVE:
            group.status = GroupStatus.PENDING if group.lat is not None else GroupStatus.LOCATING
            session.add(group)
        await _release_held(services, session, actor.chat_id)
        await session.commit()
    return Answer().say(say(actor.language, "added_welcome"))


async def _release_held(services: Services, session: AsyncSession, chat_id: int) -> None:
    """Retractions held while the bot was out of the group are due again now."""
    result = await session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == chat_id, col(OutboxMessage.status) == OutboxStatus.HELD
        )
        .values(status=OutboxStatus.PENDING, next_attempt_at=services.now(), attempts=0)
    )
    if result.rowcount:
        mark(session)  # the commit wakes the dispatcher
