"""Messages in the fake Telegram cloud: stored per chat, found by id, added and edited.

:class:`MessageStore` keeps every message (the bot's and the people's, deleted ones too) so the
fake can list them for tests and refuse what Telegram refuses: a reply to a message that is not
there, an edit of someone else's message.  Message ids increase per chat, as on Telegram.
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

from .directory import ChatRef, user_id_of
from .objects import FakeChat, FakeMessage
from .updates import UpdateQueue

__all__ = ["MessageStore", "reply_snapshot"]

JsonDict = dict[str, Any]


def reply_snapshot(message: FakeMessage) -> JsonDict:
    """A copy of a message as embedded in another one (no nested reply)."""
    snapshot = copy.deepcopy(message.raw)
    snapshot.pop("reply_to_message", None)
    return snapshot


class MessageStore(UpdateQueue):
    """Every message of every chat, by chat and by (chat, message id)."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self._chat_messages: dict[int, list[FakeMessage]] = {}
        self._index: dict[tuple[int, int], FakeMessage] = {}
        self._last_message_id: dict[int, int] = {}
        self._group_seq = itertools.count(1)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids increase per chat, shared by the bot and the users."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def new_message_dict(self, chat: FakeChat, sender: JsonDict | None) -> JsonDict:
        """Skeleton Message dict (id, from, chat, date)."""
        raw: JsonDict = {"message_id": self.next_message_id(chat.chat_id)}
        if sender is not None:
            raw["from"] = sender
        raw["chat"] = chat.to_dict()
        raw["date"] = int(time.time())
        return raw

    def store(self, message: FakeMessage) -> FakeMessage:
        """Remember a message so it can be listed, replied to, edited, deleted."""
        self._chat_messages.setdefault(message.chat_id, []).append(message)
        self._index[(message.chat_id, message.message_id)] = message
        return message

    def next_media_group_id(self) -> str:
        """A fresh media_group_id for an album."""
        return str(10**17 + next(self._group_seq))

    def get_message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        """A stored message (deleted ones included)."""
        return self._index.get((chat_id, message_id))

    def backdate(self, message: FakeMessage, seconds: float) -> FakeMessage:
        """Make ``message`` ``seconds`` older (Telegram refuses to delete one older than 48 h)."""
        message.raw["date"] = int(message.raw.get("date", 0) - seconds)
        message.date = message.raw["date"]
        return message

    def add_bot_message(
        self,
        chat: FakeChat,
        content: JsonDict,
        *,
        html: str | None = None,
        parse_mode: str | None = None,
        reply_markup: JsonDict | None = None,
        reply_to: FakeMessage | None = None,
    ) -> FakeMessage:
        """Store a message the bot sent; returns it (its ``raw`` is the API result)."""
        raw = self.new_message_dict(chat, dict(self.bot_user))
        if reply_to is not None:
            raw["reply_to_message"] = reply_snapshot(reply_to)
        raw.update(content)
        if reply_markup and "inline_keyboard" in reply_markup:
            raw["reply_markup"] = reply_markup
        message = FakeMessage.from_raw(
            raw, from_bot=True, html=html, parse_mode=parse_mode, reply_markup=reply_markup
        )
        return self.store(message)

    def update_bot_message(
        self,
        message: FakeMessage,
        changes: JsonDict,
        *,
        reply_markup: JsonDict | None,
        html: str | None = None,
        parse_mode: str | None = None,
    ) -> None:
        """Apply an edit: ``changes`` keys set to None/empty are removed from the message."""
        raw = message.raw
        for key, value in changes.items():
            if value in (None, [], ""):
                raw.pop(key, None)
            else:
                raw[key] = value
        if reply_markup and "inline_keyboard" in reply_markup:
            raw["reply_markup"] = reply_markup
        else:
            raw.pop("reply_markup", None)
        raw["edit_date"] = int(time.time())
        message.reply_markup = reply_markup
        if html is not None:
            message.html = html
            message.parse_mode = parse_mode
        message.edited = True
        message.refresh_from_raw()

    def messages(
        self,
        chat: ChatRef,
        *,
        from_bot: bool | None = True,
        include_deleted: bool = False,
    ) -> list[FakeMessage]:
        """Messages in a chat, oldest first.  ``from_bot=None`` lists everyone's."""
        chat_id = chat.chat_id if isinstance(chat, FakeChat) else user_id_of(chat)
        return [
            m
            for m in self._chat_messages.get(chat_id, [])
            if (from_bot is None or m.from_bot == from_bot) and (include_deleted or not m.deleted)
        ]

    def bot_messages(self, chat: ChatRef) -> list[FakeMessage]:
        """Non-deleted messages the bot sent in a chat."""
        return self.messages(chat)

    def last(self, chat: ChatRef) -> FakeMessage | None:
        """The last non-deleted message the bot sent in a chat."""
        messages = self.messages(chat)
        return messages[-1] if messages else None
