"""What people do in the fake Telegram cloud: send, edit, press buttons, block the bot.

Tests play the users: each action stores the message it makes and queues the Update the bot
would receive (``message``, ``edited_message``, ``callback_query``), as on Telegram.
"""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

from .directory import chat_member_dict
from .markup import utf16_len
from .messages import MessageStore, reply_snapshot
from .objects import FakeChat, FakeMessage, FakeUser

__all__ = ["People", "command_entities"]

JsonDict = dict[str, Any]


def command_entities(text: str) -> list[JsonDict]:
    """A bot_command entity for a leading ``/command`` (``/register@bot`` included)."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


def _location(latitude: float, longitude: float) -> JsonDict:
    """A Location dict."""
    return {"latitude": float(latitude), "longitude": float(longitude)}


class People(MessageStore):
    """The users' side: messages they send and edit, buttons they press, blocking the bot."""

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self.callback_queries: dict[str, JsonDict] = {}
        self.callback_answers: dict[str, JsonDict] = {}
        self._query_seq = itertools.count(1)

    def send(
        self,
        user: FakeUser,
        chat: FakeChat | None = None,
        text: str | None = None,
        photo: bool | str = False,
        caption: str | None = None,
        location: tuple[float, float] | None = None,
        venue: tuple[float, float, str, str] | None = None,
        document: bool = False,
        sticker: bool = False,
        voice: bool = False,
        contact: str | None = None,
        reply_to: FakeMessage | None = None,
        forward_from: FakeUser | None = None,
    ) -> FakeMessage:
        """``user`` sends a message (text or one kind of media); queues a ``message`` update.

        ``chat=None`` means the user's private chat with the bot.  In a group the
        user is added to the members if needed; in a private chat where the user
        had blocked the bot, sending unblocks it (like pressing "Restart").
        """
        target = self.private_chat(user) if chat is None else chat
        self._prepare_sender(user, target)
        content = self._user_content(
            user, text, photo, caption, location, venue, document, sticker, voice, contact
        )
        raw = self.new_message_dict(target, user.to_dict())
        if reply_to is not None:
            raw["reply_to_message"] = reply_snapshot(reply_to)
        if forward_from is not None:
            raw["forward_origin"] = {
                "type": "user",
                "date": raw["date"] - 60,
                "sender_user": forward_from.to_dict(),
            }
        raw.update(content)
        message = self.store(FakeMessage.from_raw(raw, from_bot=False))
        self._deliver(target, "message", raw)
        return message

    def _prepare_sender(self, user: FakeUser, chat: FakeChat) -> None:
        """Make the chat state consistent with ``user`` posting in ``chat``."""
        if chat.migrated_to is not None:
            raise ValueError(
                f"chat {chat.chat_id} was migrated to {chat.migrated_to}; post in the new chat"
            )
        if chat.is_private:
            if chat.chat_id != user.user_id:
                raise ValueError("a user can only post in their own private chat with the bot")
            if chat.blocked:
                self.unblock(user)
        elif not chat.has_member(user.user_id):
            chat.members.append(user.user_id)

    def _user_content(
        self,
        user: FakeUser,
        text: str | None,
        photo: bool | str,
        caption: str | None,
        location: tuple[float, float] | None,
        venue: tuple[float, float, str, str] | None,
        document: bool,
        sticker: bool,
        voice: bool,
        contact: str | None,
    ) -> JsonDict:
        """The content part of a user's Message dict; exactly one kind is allowed."""
        kinds: list[JsonDict] = []
        if text is not None:
            entities = command_entities(text)
            kinds.append({"text": text, "entities": entities} if entities else {"text": text})
        if photo:
            kinds.append({"photo": self.file_store.user_photo(photo)})
        if location is not None:
            kinds.append({"location": _location(*location)})
        if venue is not None:
            lat, lon, title, address = venue
            where = _location(lat, lon)
            kinds.append(
                {
                    "venue": {"location": where, "title": title, "address": address},
                    "location": where,
                }
            )
        if document:
            kinds.append({"document": self.file_store.new_document(b"%PDF-1.4 fake\n")})
        if sticker:
            kinds.append({"sticker": self.file_store.new_sticker()})
        if voice:
            kinds.append({"voice": self.file_store.new_voice()})
        if contact is not None:
            kinds.append({"contact": self._contact(user, contact)})
        if len(kinds) != 1:
            raise ValueError("send exactly one of text, photo, location, venue, document, ...")
        content = kinds[0]
        if caption is not None:
            if not ({"photo", "document", "voice"} & set(content)):
                raise ValueError("caption needs photo, document or voice")
            content["caption"] = caption
        return content

    @staticmethod
    def _contact(user: FakeUser, phone: str) -> JsonDict:
        """The user's own contact card."""
        contact: JsonDict = {
            "phone_number": phone,
            "first_name": user.first_name,
            "user_id": user.user_id,
        }
        if user.last_name:
            contact["last_name"] = user.last_name
        return contact

    def edit(self, user: FakeUser, message: FakeMessage, text: str) -> FakeMessage:
        """``user`` edits their own text message; queues an ``edited_message`` update."""
        if message.from_bot or message.from_user_id != user.user_id:
            raise ValueError("users can only edit their own messages")
        if message.kind != "text" or message.deleted:
            raise ValueError("only existing text messages can be edited here")
        message.raw["text"] = text
        entities = command_entities(text)
        if entities:
            message.raw["entities"] = entities
        else:
            message.raw.pop("entities", None)
        message.raw["edit_date"] = int(time.time())
        message.edited = True
        message.refresh_from_raw()
        self._deliver(self.chat(message.chat_id), "edited_message", message.raw)
        return message

    def click(self, user: FakeUser, message: FakeMessage, button_text: str) -> str:
        """``user`` presses the inline button whose label contains ``button_text``.

        Queues a ``callback_query`` update and returns its id.  Raises
        LookupError if no such button exists (listing the labels) and ValueError
        for a URL button (follow the link yourself) or other non-callback button.
        """
        current = self.get_message(message.chat_id, message.message_id) or message
        if current.deleted:
            raise LookupError(f"message {current.chat_id}/{current.message_id} was deleted")
        button = current.find_button(button_text)
        if button is None:
            raise LookupError(
                f"no inline button containing {button_text!r} in message "
                f"{current.chat_id}/{current.message_id}; buttons: {current.button_texts}"
            )
        if "url" in button:
            raise ValueError(f"button {button['text']!r} is a URL button: {button['url']}")
        if "callback_data" not in button:
            raise ValueError(f"button {button['text']!r} is not a callback button: {button}")
        query_id = str(4_611_686_018_427_387_904 + next(self._query_seq))
        query: JsonDict = {
            "id": query_id,
            "from": user.to_dict(),
            "message": copy.deepcopy(current.raw),
            "chat_instance": str(abs(current.chat_id) * 1_000_003 % 10**18),
            "data": button["callback_data"],
        }
        self.callback_queries[query_id] = query
        self._deliver(self.chat(current.chat_id), "callback_query", query)
        return query_id

    def block(self, user: FakeUser) -> None:
        """``user`` blocks the bot: my_chat_member (kicked); later sends get 403."""
        chat = self.private_chat(user)
        chat.blocked = True
        self._bot_status_change(chat, user, "kicked")

    def unblock(self, user: FakeUser) -> None:
        """``user`` unblocks the bot: my_chat_member (member)."""
        chat = self.private_chat(user)
        chat.blocked = False
        self._bot_status_change(chat, user, "member")

    def _bot_status_change(self, chat: FakeChat, by: FakeUser, new_status: str) -> None:
        """Change the bot's membership and queue the my_chat_member update."""
        if chat.is_private:
            old_status = "member" if new_status == "kicked" else "kicked"
        else:
            old_status, chat.bot_status = chat.bot_status, new_status
        payload = {
            "chat": chat.to_dict(),
            "from": by.to_dict(),
            "date": int(time.time()),
            "old_chat_member": chat_member_dict(dict(self.bot_user), old_status),
            "new_chat_member": chat_member_dict(dict(self.bot_user), new_status),
        }
        self.queue_update("my_chat_member", payload)
