"""The one place that turns an outbox payload into a Bot API call, and a Bot API failure into
what the dispatcher must do about it.

``Out`` renders to sendPhoto / sendMessage / sendLocation with HTML parse mode; a retraction
deletes the message, or, when Telegram refuses the delete (48 hours old), puts the neutral
placeholder picture in the photo's place with the closing notice as caption and no buttons.
When that fails too the retraction is ``Stuck``: the dispatcher tells the officers.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
    WebAppInfo,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from searchbot.delivery.dispatcher import PAID_CONCURRENCY
from searchbot.delivery.outcomes import (
    DeliveryError,
    Gone,
    Moved,
    Rejected,
    Stuck,
    Throttled,
    Transient,
    Unpaid,
)
from searchbot.domain.broadcast import stars_of
from searchbot.domain.messages import Op, Out
from searchbot.settings import Settings
from searchbot.telegram import wire
from searchbot.telegram.placeholder import PlaceholderStore, picture

CONNECTIONS = 32  # the bot's HTTP connections without paid broadcast


def keyboard(out: Out) -> InlineKeyboardMarkup | ForceReply | None:
    if out.force_reply:
        return ForceReply(selective=False)
    if not out.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    b.text,
                    callback_data=b.data,
                    url=b.url,
                    web_app=WebAppInfo(b.web_app) if b.web_app else None,
                )  # fmt: skip
                for b in row
            ]
            for row in out.buttons
        ]
    )


def reply_parameters(out: Out) -> ReplyParameters | None:
    if out.reply_to is None:
        return None
    return ReplyParameters(message_id=out.reply_to, allow_sending_without_reply=True)


_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def send_out(bot: Bot, chat_id: int, out: Out, **extra: Any) -> int:
    """Send one ``Out``; returns the message id. Raises telegram errors as they come. A message
    without an upload is written and read back in plain fields (``wire``)."""
    if out.upload is None:
        return await wire.send(bot, chat_id, out, **extra)
    file = InputFile(out.upload, filename=out.upload_name)
    send = bot.send_photo if out.upload_name.endswith(".png") else bot.send_document
    message = await send(
        chat_id, file, caption=out.text or None, parse_mode=ParseMode.HTML,
        reply_markup=keyboard(out), reply_parameters=reply_parameters(out),
    )  # fmt: skip
    return message.message_id


def connections(settings: Settings) -> int:
    """HTTP connections the bot's requests need: the handlers' and the outbox's 32, and with
    paid broadcast the burst's calls in the air besides (a call waiting for a connection
    holds its place in Telegram's second all the while)."""
    return CONNECTIONS + (PAID_CONCURRENCY if settings.paid_budget > 0 else 0)


class TelegramTransport:
    """Executes outbox payloads through a python-telegram-bot ``Bot``."""

    def __init__(self, bot: Bot, placeholder: PlaceholderStore | None = None) -> None:
        self._bot = bot
        self._placeholder = placeholder
        self._uploading = asyncio.Lock()

    async def execute(
        self, chat_id: int, payload: dict[str, Any], paid: bool = False
    ) -> int | None:
        """Perform the payload; returns the new message id for sends. Raises DeliveryError.
        ``paid``: send with ``allow_paid_broadcast`` (up to 1,000 a second, for Stars)."""
        try:
            if payload.get("op") == Op.DELETE:
                await self._retract(chat_id, payload)
                return None
            if payload.get("op") in (Op.EDIT, Op.RENEW):
                return await self._digest(chat_id, payload)
            if payload.get("op") == Op.EDIT_BUTTONS:
                await self._edit_buttons(chat_id, payload)
                return None
            extra = {"allow_paid_broadcast": True} if paid else {}
            return await send_out(self._bot, chat_id, Out.from_payload(payload), **extra)
        except TelegramError as error:
            raise classify(error) from error

    async def star_balance(self) -> Decimal:
        """The bot's Telegram Stars (getMyStarBalance). Raises DeliveryError."""
        try:
            amount = await self._bot.get_my_star_balance()
        except TelegramError as error:
            raise classify(error) from error
        return stars_of(amount.amount, amount.nanostar_amount or 0)

    async def _digest(self, chat_id: int, payload: dict[str, Any]) -> int:
        """A folded officers' message: ``edit`` changes the previous one in place (a new one
        if it is gone); ``renew`` sends a new one (it notifies) and deletes the previous."""
        out, previous = Out.from_payload(payload), payload.get("message_id")
        markup = keyboard(out)
        if payload["op"] == Op.EDIT and previous:
            try:
                await self._bot.edit_message_text(
                    out.text, chat_id, previous, parse_mode=ParseMode.HTML,
                    reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                    link_preview_options=_NO_PREVIEW,
                )  # fmt: skip
                return int(previous)
            except BadRequest as error:
                if "not modified" in str(error).lower():
                    return int(previous)
                # deleted by someone, or no longer editable: say it anew below
        message_id = await send_out(self._bot, chat_id, out)
        if payload["op"] == Op.RENEW and previous:
            with contextlib.suppress(TelegramError):  # an old reminder left behind is harmless
                await self._bot.delete_message(chat_id, previous)
        return message_id

    async def _edit_buttons(self, chat_id: int, payload: dict[str, Any]) -> None:
        """Replace a sent message's buttons (a counter on one of them). A message deleted
        meanwhile, or already showing these buttons, needs nothing more."""
        markup = keyboard(Out.from_payload({"buttons": payload.get("buttons", [])}))
        assert not isinstance(markup, ForceReply)
        try:
            await self._bot.edit_message_reply_markup(
                chat_id, int(payload["message_id"]), reply_markup=markup
            )
        except BadRequest as error:
            reason = str(error).lower()
            if "not found" not in reason and "not modified" not in reason:
                raise

    async def _retract(self, chat_id: int, payload: dict[str, Any]) -> None:
        message_id = int(payload["message_id"])
        text = payload.get("fallback_text", "")
        try:
            await self._bot.delete_message(chat_id, message_id)
            return
        except BadRequest as error:
            if "not found" in str(error).lower():
                return  # already gone: a group admin deleted it, or a retry after success
        # Too old to delete (48 h) or no right to: the photo still leaves, the picture replaces it.
        try:
            await self._cover(chat_id, message_id, text)
        except BadRequest as error:
            reason = str(error).lower()
            if "not modified" in reason or "not found" in reason:
                return  # covered by an earlier try, or deleted by an admin meanwhile
            raise Stuck(str(error)) from error

    async def _cover(self, chat_id: int, message_id: int, text: str) -> None:
        """Swap the alert's photo for the placeholder, caption the closing notice, drop the
        buttons; an alert without a photo gets the notice as its text."""
        try:
            known = await self._placeholder.file_id() if self._placeholder else None
            if known is None:
                async with self._uploading:  # uploaded once, however many retractions at once
                    known = await self._placeholder.file_id() if self._placeholder else None
                    if known is None:
                        await self._swap(chat_id, message_id, text, None)
                        return
            try:
                await self._swap(chat_id, message_id, text, known)
            except BadRequest as error:
                if "file" not in str(error).lower() and "identifier" not in str(error).lower():
                    raise
                await self._swap(chat_id, message_id, text, None)  # Telegram forgot the file
        except BadRequest as error:
            if "no media" not in str(error).lower():
                raise
            await self._bot.edit_message_text(
                text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=None
            )

    async def _swap(self, chat_id: int, message_id: int, text: str, file_id: str | None) -> None:
        media = InputMediaPhoto(
            file_id or picture(), caption=text, parse_mode=ParseMode.HTML,
            filename=None if file_id else "placeholder.png",
        )  # fmt: skip
        edited = await self._bot.edit_message_media(
            media,
            chat_id=chat_id, message_id=message_id, reply_markup=None,
        )  # fmt: skip
        photo = getattr(edited, "photo", None)
        if file_id is None and self._placeholder is not None and photo:
            await self._placeholder.remember(photo[-1].file_id)  # uploaded once, sent by id


def classify(error: TelegramError) -> DeliveryError:
    """What a Bot API failure means for delivery."""
    if isinstance(error, RetryAfter):
        after = error.retry_after
        seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
        return Throttled(seconds)
    if isinstance(error, ChatMigrated):
        return Moved(error.new_chat_id)
    if isinstance(error, Forbidden):
        return Gone(str(error))
    if isinstance(error, BadRequest | InvalidToken):
        if "chat not found" in str(error).lower():
            return Gone(str(error))
        if "balance_too_low" in str(error).lower():
            return Unpaid(str(error))
        return Rejected(str(error))
    if isinstance(error, NetworkError):  # includes TimedOut and 5xx
        return Transient(str(error))
    return Rejected(str(error))
