"""Group chats: /register, /unregister, /status, and replies to the bot's messages (the group's
location after /register, sightings in reply to an alert). With privacy mode on, the bot sees
nothing else of a group's talk, which is how it should be."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import Forbidden

from searchbot.cases import found, registration, sightings
from searchbot.domain.messages import Answer
from searchbot.handlers.render import Context, actor_of, command_of, input_of, reply
from searchbot.words.texts import say

ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


async def _is_chat_admin(update: Update, context: Context) -> bool:
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ADMIN_STATUSES


async def on_group_message(update: Update, context: Context) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or update.effective_user is None:
        return
    services = context.services
    actor = actor_of(update, services)
    command = command_of(message.text, services.links.bot_username)
    answer: Answer | None = None
    if command is not None:
        name, args = command
        if name == "/register":
            admin = await _is_chat_admin(update, context)
            role = args[0].lower() if args else None
            language = args[1].lower() if len(args) > 1 else None
            answer = await registration.register(
                services, actor, role, chat.title or "", admin, language
            )
        elif name == "/unregister":
            answer = await registration.unregister(
                services, actor, await _is_chat_admin(update, context)
            )
        elif name == "/found":
            answer = await found.group_prompt(services, actor)
        elif name == "/status":
            answer = await registration.status(services, actor)
        elif name in ("/start", "/help"):
            answer = Answer().say(say(actor.language, "help_group"))
        else:
            from searchbot.handlers.desk import OFFICER_COMMANDS, PRIVATE_ONLY

            await services.officers.refresh(services.sessions)
            if name in OFFICER_COMMANDS and services.officers.may_show_cases(actor):
                answer = await OFFICER_COMMANDS[name](services, actor, args)
            elif name in PRIVATE_ONLY or name in OFFICER_COMMANDS:
                answer = Answer().say(say(actor.language, "private_only"))
            elif "@" in (message.text or "").split()[0]:
                # addressed to this bot by name; a bare /typo may be meant for another bot
                answer = Answer().say(say(actor.language, "unknown_command_group"))
    elif _replies_to_bot(update, context):
        answer = await _reply_to_bot(update, context)
    if answer is not None:
        await reply(update, context, answer, quote=True)


def _replies_to_bot(update: Update, context: Context) -> bool:
    message = update.effective_message
    replied = message.reply_to_message if message else None
    return bool(replied and replied.from_user and replied.from_user.id == context.bot.id)


async def _reply_to_bot(update: Update, context: Context) -> Answer | None:
    """A location for a registration in progress, or a sighting in reply to an alert."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    services = context.services
    actor = actor_of(update, services)
    given = input_of(message)
    if given.location:
        located = await registration.locate(
            services, actor, *given.location, lambda: _is_chat_admin(update, context)
        )
        if located is not None:
            return located
    if given.command:
        return None
    report = sightings.Report(
        lat=given.location[0] if given.location else None,
        lon=given.location[1] if given.location else None,
        place_text=given.venue,
        photo=given.photo,
        note=given.text,
    )
    replied = message.reply_to_message
    return await sightings.from_group_reply(
        services, actor, replied.message_id, replied.caption or replied.text or "", report
    )


async def on_membership(update: Update, context: Context) -> None:
    """The bot was added to or removed from a group, or blocked by a person."""
    change = update.my_chat_member
    if change is None:
        return
    services = context.services
    chat, status = change.chat, change.new_chat_member.status
    if status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        await registration.recipient_gone(services, chat.id, f"bot {status}")
        return
    if chat.type == "private" or change.old_chat_member.status not in (
        ChatMemberStatus.LEFT, ChatMemberStatus.BANNED,
    ):  # fmt: skip
        return  # a person restarted the bot, or the bot's rights changed: nothing to say
    try:
        by = await context.bot.get_chat_member(chat.id, change.from_user.id)
    except Forbidden as error:  # removed again before this update was handled
        await registration.recipient_gone(services, chat.id, str(error))
        return
    actor = actor_of(update, services)
    answer = await registration.bot_added(services, actor, by.status in ADMIN_STATUSES)
    await reply(update, context, answer)
    if by.status not in ADMIN_STATUSES:
        with contextlib.suppress(Forbidden):  # already removed again: nothing to leave
            await context.bot.leave_chat(chat.id)
