"""The Telegram adapter: python-telegram-bot handlers that parse an update, call one use case
and render its answer. No SQL and no business rules live here."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from searchbot.handlers.buttons import on_button
from searchbot.handlers.errors import on_error
from searchbot.handlers.groups import on_group_message, on_membership
from searchbot.handlers.private import on_private_edit, on_private_message
from searchbot.handlers.render import CONTEXT_TYPES

__all__ = ["CONTEXT_TYPES", "install"]

if __name__ != "searchbot.handlers":
    # handlers/ is the package searchbot.handlers (see pyproject.toml). Imported as a top-level
    # `handlers` (the repository root is on sys.path under pytest) it would load a second time.
    raise ImportError(
        "import searchbot.handlers, not handlers: handlers/ is part of the searchbot package"
    )


def install(application: Application) -> None:  # type: ignore[type-arg]
    """Register every handler on ``application``."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(private, on_private_message))
    application.add_handler(MessageHandler(groups, on_group_message))
    application.add_handler(CallbackQueryHandler(on_button))
    edits = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
    application.add_handler(MessageHandler(edits, on_private_edit))
    application.add_handler(ChatMemberHandler(on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(on_error)
