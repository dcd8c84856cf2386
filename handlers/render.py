"""Turning updates into plain values for the use cases, and their answers back into messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

from telegram import Bot, Message, Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from searchbot.cases import registration
from searchbot.cases.answers import Input
from searchbot.cases.services import Services
from searchbot.delivery import replies
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer, Out
from searchbot.operations.logs import chat as log_chat
from searchbot.telegram import menus
from searchbot.telegram.transport import send_out
from searchbot.words.texts import language_of

VENUE_TITLE_MAX = 200  # a venue title is free text: keep it to what a card shows
UPLOAD_ATTEMPTS = 4  # a chart or an export sent directly: tries before giving up
UPLOAD_MAX_WAIT = 60.0  # seconds: a longer retry_after is not worth holding a handler for

log = logging.getLogger(__name__)


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every handler gets: PTB's, with typed access to the services."""

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services


CONTEXT_TYPES = ContextTypes(context=Context)


def actor_of(update: Update, services: Services) -> Actor:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return Actor(
        user_id=user.id,
        chat_id=chat.id,
        name=user.full_name,
        language=language_of(user.language_code, services.settings.language),
    )


def input_of(message: Message) -> Input:
    """What the person sent, without Telegram's types."""
    location = message.venue.location if message.venue else message.location
    media = (
        message.document, message.sticker, message.voice, message.video, message.audio,
        message.animation, message.video_note,
    )  # fmt: skip
    return Input(
        text=message.text or message.caption,
        photo=message.photo[-1].file_id if message.photo else None,
        location=(location.latitude, location.longitude) if location else None,
        venue=message.venue.title[:VENUE_TITLE_MAX] if message.venue else None,
        contact=message.contact.phone_number if message.contact else None,
        other_media=any(m is not None for m in media),
        forwarded=message.forward_origin is not None,
    )


def command_of(text: str | None, bot_username: str) -> tuple[str, list[str]] | None:
    """``/cmd@bot a b`` -> ("/cmd", ["a", "b"]); None if not a command for this bot."""
    if not text or not text.startswith("/"):
        return None
    head, *args = text.split()
    name, _, target = head.partition("@")
    if target and target.lower() != bot_username.lower():
        return None
    return name.lower(), args


async def reply(update: Update, context: Context, answer: Answer, quote: bool = False) -> None:
    """Say ``answer`` in the chat the update came from (and answer a pressed button at once).

    The messages go to the outbox (the dispatcher sends them as soon as the chat is free, in
    order with its other messages, and again after a 429); an answer with an upload is sent
    directly, retried on 429. A chat that blocked or removed the bot is marked gone."""
    query = update.callback_query
    if query is not None:
        with contextlib.suppress(TelegramError):  # a button pressed long ago: too old to answer
            await query.answer(text=(answer.toast or "")[:200] or None, show_alert=answer.alert)
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    message = update.effective_message if quote else None
    outs = [
        replace(out, reply_to=message.message_id)
        if message is not None and out.reply_to is None
        else out
        for out in answer.messages
    ]
    if any(out.upload is not None for out in outs):
        try:
            for out in outs:  # in order: the caption text before its chart
                await _send_directly(context.bot, services, chat.id, out)
        except Forbidden as error:
            await registration.recipient_gone(services, chat.id, str(error))
    else:
        await replies.post(services, chat.id, outs)
    for user_id in answer.menus_for:
        await menus.follow_role(context.bot, services, user_id)


async def _send_directly(bot: Bot, services: Services, chat_id: int, out: Out) -> None:
    """One message straight to Telegram: waits out a 429 and retries a timeout, a few times."""
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        try:
            await send_out(bot, chat_id, out)
            services.doorbell.note_direct_send(chat_id)
            return
        except RetryAfter as error:
            after = error.retry_after
            wait = after if isinstance(after, int | float) else after.total_seconds()
            if wait > UPLOAD_MAX_WAIT:
                break
            await asyncio.sleep(wait)
        except NetworkError:  # a timeout or a 5xx (RetryAfter is not one)
            await asyncio.sleep(float(attempt))
    log.warning("gave up sending a direct answer to %s", log_chat(chat_id))  # a person: unnamed
