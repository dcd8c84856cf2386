"""Private chats: /start (and its deep links), /help, /report and its dialogue, /seen, /mycases,
/cancel. Everything typed in private that is not a command goes to the open dialogue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from searchbot.cases import answers, conversation, desk, found, reporting, sightings
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer
from searchbot.domain.numbers import case_number, parse_id
from searchbot.handlers.render import (
    Context,
    actor_of,
    command_of,
    input_of,
    reply,
)
from searchbot.words.texts import say

DIALOGUE_COMMANDS = set(answers.SKIP_COMMANDS)  # go to the open dialogue, which reads them
GROUP_COMMANDS = {"/register", "/unregister", "/status"}

Command = Callable[[Services, Actor, list[str]], Awaitable[Answer]]
GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


async def _start(services: Services, actor: Actor, args: list[str]) -> Answer:
    if args and args[0].startswith("seen_"):
        payload = args[0].removeprefix("seen_")
        if payload.isascii() and payload.isdigit():  # an alert sent before links had tokens
            number = case_number([payload])
            if number is not None:
                return await sightings.begin(services, actor, number)
            return await desk.welcome(services, actor)
        return await sightings.begin_from_link(services, actor, payload)
    if args and args[0].startswith("found"):
        return await found.begin(services, actor, parse_id(args[0].removeprefix("found_")))
    return await desk.welcome(services, actor)


async def _help(services: Services, actor: Actor, args: list[str]) -> Answer:
    return Answer().say(say(actor.language, "help"))


async def _report(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await reporting.start(services, actor)


async def _seen(services: Services, actor: Actor, args: list[str]) -> Answer:
    number = case_number(args)
    if number is None:
        return Answer().say(say(actor.language, "bad_case_ref", example="/seen 12"))
    return await sightings.begin(services, actor, number)


async def _found(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await found.begin(services, actor)


async def _mycases(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await desk.my_cases(services, actor)


async def _cancel(services: Services, actor: Actor, args: list[str]) -> Answer:
    return await conversation.cancel(services, actor)


PRIVATE_COMMANDS: dict[str, Command] = {
    "/start": _start,
    "/help": _help,
    "/report": _report,
    "/seen": _seen,
    "/found": _found,
    "/mycases": _mycases,
    "/cancel": _cancel,
}


async def on_private_message(update: Update, context: Context) -> None:
    """Every message in a private chat."""
    message = update.effective_message
    services = context.services
    if message is None or update.effective_user is None:
        return
    actor = actor_of(update, services)
    user = update.effective_user
    await services.people.remember(user.id, user.full_name, user.username, actor.language)
    given = input_of(message)
    command = command_of(message.text, services.links.bot_username)
    answer: Answer | None
    if command and command[0] not in DIALOGUE_COMMANDS:
        from searchbot.handlers.desk import OFFICER_COMMANDS

        handler = PRIVATE_COMMANDS.get(command[0]) or OFFICER_COMMANDS.get(command[0])
        if command[0] in GROUP_COMMANDS:
            answer = Answer().say(say(actor.language, "group_only"))
        elif handler is None:
            answer = Answer().say(say(actor.language, "unknown_command"))
        else:
            args = command[1]
            if command[0] == "/start":
                args = await _found_link_checked(update, context, args)
            answer = await handler(services, actor, args)
    else:
        answer = await conversation.answer(services, actor, given)
        if answer is None:
            answer = Answer().say(say(actor.language, "start"))
    await reply(update, context, answer)


async def _found_link_checked(update: Update, context: Context, args: list[str]) -> list[str]:
    """``/start found_<chat id>`` names the group the finder came from, and officers read it
    on the report ("via group …"). Anybody can type any chat id into that link: it is kept
    only when Telegram says the finder is a member of that chat now; otherwise the report goes
    on as a plain ``/found``, naming no group."""
    if not args or not args[0].startswith("found_"):
        return args
    chat_id = parse_id(args[0].removeprefix("found_"))
    user = update.effective_user
    if chat_id is None or chat_id >= 0 or user is None:
        return ["found"]
    try:
        member = await context.bot.get_chat_member(chat_id, user.id)
    except TelegramError:  # no such chat, or the bot is not in it
        return ["found"]
    if member.status == ChatMemberStatus.RESTRICTED:
        return args if getattr(member, "is_member", False) else ["found"]
    return ["found"] if member.status in GONE else args


async def on_private_edit(update: Update, context: Context) -> None:
    """An edited message: dialogues read new messages only, so say so when one is open."""
    services = context.services
    actor = actor_of(update, services)
    if await conversation.is_open(services, actor):
        await reply(update, context, Answer().say(say(actor.language, "edited_ignored")))
