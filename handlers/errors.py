"""The last word on an update whose handler failed: the person hears that something went wrong
(in their language) instead of nothing, and the log gets what a developer needs to find the bug
— the update id, the exception's types and where they were raised — and nothing the person sent.

Exception messages stay out of the log: they can carry what was typed or a database row
(PostgreSQL's "Key (phone)=(…) already exists", a driver's "invalid input: '…'")."""

from __future__ import annotations

import contextlib
import logging
import traceback

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from searchbot.delivery import replies
from searchbot.domain.messages import Out
from searchbot.handlers.render import Context
from searchbot.words.texts import language_of, say

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """PTB's error handler: log without personal data, then tell the person."""
    if not isinstance(update, Update):  # a job (the jobs catch their own, so: a bug)
        log.error("a job failed:\n%s", without_values(context.error))
        return
    log.error("update %s failed:\n%s", update.update_id, without_values(context.error))
    await _tell(update, context)


def without_values(error: BaseException | None) -> str:
    """The exception chain as types and stack frames, outermost first; no exception text."""
    parts: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        kind = type(error)
        state = getattr(error, "sqlstate", None)  # PostgreSQL's error class: a code, no data
        name = f"{kind.__module__}.{kind.__qualname__}" + (f" (SQLSTATE {state})" if state else "")
        frames = "".join(traceback.format_tb(error.__traceback__))
        parts.append(f"{name}\n{frames}")
        error = error.__cause__ or error.__context__
    return "raised while handling:\n".join(parts) or "no exception"


async def _tell(update: Update, context: Context) -> None:
    """ "Something went wrong, please try again" to whoever sent the update: a toast on a
    pressed button, and a message in a private chat or after a group command (a failed press
    in a group is not news for the whole group)."""
    user, chat, query = update.effective_user, update.effective_chat, update.callback_query
    if user is None or chat is None:
        return
    services = context.services
    text = say(language_of(user.language_code, services.settings.language), "update_failed")
    if query is not None:
        with contextlib.suppress(TelegramError):  # answered already, or too old to answer
            await query.answer(text=text[:200], show_alert=True)
        if chat.type != ChatType.PRIVATE:
            return
    try:
        await replies.post(services, chat.id, [Out(text)])
    except Exception:  # the database is what failed: say it straight to Telegram instead
        log.warning("update %s: the apology could not be queued, sending it directly",
                    update.update_id)  # fmt: skip
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat.id, text)
