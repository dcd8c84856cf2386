"""Officer commands (private chat or the officers' group): /cases, /case, /verify, /escalate,
/close, /groups, /approve, /reject; admins: /officer. Refusals are decided in the use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from searchbot.cases import borders, closing, desk, registration, station_desk
from searchbot.cases.services import Services
from searchbot.domain import numbers
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer
from searchbot.domain.numbers import case_number, parse_id
from searchbot.models import GroupStatus
from searchbot.operations import records
from searchbot.web import room
from searchbot.words.texts import say

Command = Callable[[Services, Actor, list[str]], Awaitable[Answer]]


def _with_case(usage: str, work: Callable[[Services, Actor, int], Awaitable[Answer]]) -> Command:
    async def command(services: Services, actor: Actor, args: list[str]) -> Answer:
        number = case_number(args)
        if number is None:
            return Answer().say(say(actor.language, "bad_case_ref", example=usage))
        return await work(services, actor, number)

    return command


async def _stats(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await records.stats(services, actor)


async def _cases(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await desk.list_cases(services, actor)


async def _close(services: Services, actor: Actor, args: list[str]) -> Answer:
    number = case_number(args)
    if number is None or len(args) < 2:
        return Answer().say(say(actor.language, "close_usage"))
    note = " ".join(args[2:]) or None
    # On success the closing notice reaches every officer chat, this one included.
    return await closing.close(services, actor, number, args[1].lower(), note)


async def _groups(services: Services, actor: Actor, args: list[str]) -> Answer:
    status = GroupStatus.PENDING if args and args[0].lower() == GroupStatus.PENDING else None
    return await desk.list_groups(services, actor, status)


def _decide(approve: bool) -> Command:
    async def command(services: Services, actor: Actor, args: list[str]) -> Answer:
        chat_id = numbers.chat_id(args[0]) if args else None
        if chat_id is None:
            name = "approve" if approve else "reject"
            return Answer().say(say(actor.language, "chat_id_usage", command=name))
        return await registration.decide(services, actor, chat_id, approve)

    return command


async def _officer(services: Services, actor: Actor, args: list[str]) -> Answer:
    user_id = parse_id(args[1]) if len(args) == 2 else None
    return await desk.appoint(services, actor, args[0] if args else None, user_id)


def _block(blocked: bool) -> Command:
    async def command(services: Services, actor: Actor, args: list[str]) -> Answer:
        user_id = parse_id(args[0]) if args else None
        if user_id is None or user_id <= 0:
            return Answer().say(say(actor.language, "block_usage"))
        return await desk.block(services, actor, user_id, blocked)

    return command


async def _handover(services: Services, actor: Actor, args: list[str]) -> Answer:
    number = case_number(args)
    if number is None or len(args) < 2:
        return Answer().say(say(actor.language, "handover_usage", names="…"))
    return await borders.hand_over(services, actor, number, " ".join(args[1:]))


async def _stations(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await station_desk.list_stations(services, actor)


async def _screen(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await room.screen(services, actor, revoke=bool(args) and args[0].lower() == "revoke")


OFFICER_COMMANDS: dict[str, Command] = {
    "/cases": _cases,
    "/case": _with_case("/case 12", desk.show_case),
    "/verify": _with_case("/verify 12", desk.verify),
    "/escalate": _with_case("/escalate 12", desk.escalate),
    "/close": _close,
    "/groups": _groups,
    "/approve": _decide(True),
    "/reject": _decide(False),
    "/officer": _officer,
    "/stats": _stats,
    "/block": _block(True),
    "/unblock": _block(False),
    "/export": _with_case("/export 12", records.export),
    "/map": _with_case("/map 12", room.map_picture),
    "/screen": _screen,
    "/stations": _stations,
    "/handover": _handover,
}

PRIVATE_ONLY = {"/report", "/mycases", "/seen", "/cancel"}
