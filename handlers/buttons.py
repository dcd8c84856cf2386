"""Inline buttons. Callback data is ``PREFIX:ARGS``; every action re-checks who may do it
server-side, so a forged or replayed callback changes nothing it should not."""

from __future__ import annotations

from dataclasses import replace

from telegram import Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from searchbot import closing, desk, exits, found, registration, sightings
from searchbot.handlers.numbers import parse_id, record_id
from searchbot.handlers.private import on_dialogue_button
from searchbot.handlers.render import Context, actor_of, reply, services_of
from searchbot.messages import Answer
from searchbot.models import CaseOutcome
from searchbot.texts import say
from searchbot.web import room

GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


async def _member_there(update: Update, context: Context) -> bool:
    """Whether the presser is still a member of the chat the button is in (Telegram says)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    if member.status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status not in GONE


# Buttons a crowd presses at once: a group's members need not wait for each other's presses.
CROWD_BUTTONS = ("ck:",)


def _on_its_own_button(update: Update, bot_id: int) -> bool:
    """Whether Telegram delivered this press from a button the bot put on the message it came
    with (the message is Telegram's, not the client's: a forged press names data that no
    button of that message carries)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if query is None or not isinstance(message, Message) or message.reply_markup is None:
        return False
    if message.from_user is None or message.from_user.id != bot_id:
        return False
    keyboard = message.reply_markup.inline_keyboard
    return any(button.callback_data == query.data for row in keyboard for button in row)


async def on_button(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    prefix, _, rest = query.data.partition(":")
    if prefix == "d":
        await on_dialogue_button(update, context, rest)
        return
    services = services_of(context)
    actor = actor_of(update, services)
    if actor.chat_id == services.settings.officer_chat_id and not await _member_there(
        update, context
    ):  # left or removed from the officers' group: no longer an officer by being there
        actor = replace(actor, chat_id=actor.user_id)
    args = rest.split(":")
    # approve/reject carry a chat id; every other button a case or sighting id
    number = parse_id(args[0]) if prefix in ("ap", "rj") else record_id(args[0])
    answer: Answer
    if number is None:  # forged or garbled: no use case sees it
        await reply(update, context, Answer(toast=say(actor.language, "stale_button")))
        return
    try:
        if prefix == "ck":
            shown = _on_its_own_button(update, context.bot.id)
            answer = await registration.checked(services, actor, number, on_its_button=shown)
        elif prefix in ("ap", "rj"):
            answer = await registration.decide(services, actor, number, prefix == "ap")
        elif prefix == "vf":
            answer = await desk.verify(services, actor, number)
        elif prefix == "es":
            answer = await desk.escalate(services, actor, number)
        elif prefix == "cl":
            answer = await closing.close(services, actor, number, args[1])
        elif prefix == "sc":
            answer = await sightings.judge(services, actor, number, args[1] == "1")
        elif prefix == "mt":
            case_id = record_id(args[1])
            if case_id is None:
                raise ValueError(args[1])
            answer = await found.match(services, actor, number, case_id)
        elif prefix == "ew":
            landmark_id = record_id(args[1])
            if landmark_id is None:
                raise ValueError(args[1])
            answer = await exits.watch(services, actor, number, landmark_id)
        elif prefix == "hc":
            answer = await found.tick(services, actor, number, args[1])
        elif prefix == "fc":
            answer = await found.close_report(services, actor, number)
        elif prefix == "mp":
            answer = await room.map_picture(services, actor, number)
        elif prefix == "fd":
            answer = await closing.close(services, actor, number, CaseOutcome.FOUND)
        else:
            answer = Answer(toast=say(actor.language, "stale_button"))
    except (ValueError, IndexError):
        answer = Answer(toast=say(actor.language, "stale_button"))
    if query.message is not None and query.message.chat.type != "private":
        answer.messages = [m for m in answer.messages if m.text]  # keep groups quiet
    await reply(update, context, answer)
