"""The fake Telegram cloud: users, chats, messages and the bot's update queue.

:class:`World` holds all state and implements what *people* do (send a message,
click a button, kick the bot...).  Each action stores the resulting message and
queues the Update the bot would receive.  The HTTP side lives in ``server.py``;
``FakeBotApi`` is a ``World`` with a server attached.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from .files import FileStore
from .markup import utf16_len
from .objects import FakeChat, FakeMessage, FakeUser, StoredFile

__all__ = ["ChatRef", "World", "chat_member_dict", "reply_snapshot"]

JsonDict = dict[str, Any]
ChatRef = FakeChat | FakeUser | int

_ADMIN_RIGHTS: JsonDict = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}


def chat_member_dict(user: JsonDict, status: str) -> JsonDict:
    """A ChatMember object of the subtype matching ``status``."""
    member: JsonDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(_ADMIN_RIGHTS)
    elif status == "kicked":
        member["until_date"] = 0
    return member


def command_entities(text: str) -> list[JsonDict]:
    """A bot_command entity for a leading ``/command`` (``/register@bot`` included)."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


def _update_kind(update: JsonDict) -> str:
    """The payload key of an Update ("message", "callback_query", ...)."""
    return next(key for key in update if key != "update_id")


class World:
    """State of the fake Telegram cloud as seen by one bot."""

    def __init__(self, token: str, bot_username: str) -> None:
        prefix = token.split(":", 1)[0]
        if not prefix.isdigit() or ":" not in token:
            raise ValueError(f"token must look like '<bot id>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(prefix)
        self.bot_username = bot_username
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Searchbot",
            "username": bot_username,
        }
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.file_store = FileStore(token)
        self.callback_queries: dict[str, JsonDict] = {}
        self.callback_answers: dict[str, JsonDict] = {}
        self.dropped_updates: list[JsonDict] = []
        self._chat_messages: dict[int, list[FakeMessage]] = {}
        self._index: dict[tuple[int, int], FakeMessage] = {}
        self._last_message_id: dict[int, int] = {}
        self._query_seq = itertools.count(1)
        self._group_seq = itertools.count(1)
        self._updates: deque[JsonDict] = deque()
        self._last_update_id = 0
        self._delivered_upto = 0
        self._update_signal = asyncio.Event()

    # ------------------------------------------------------------------ actors

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        """Create (or replace) a user; their private chat with the bot has id ``user_id``."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = FakeUser(user_id, first_name, language_code, username, last_name)
        self.users[user_id] = user
        chat = self.chats.get(user_id)
        if chat is None:
            self.chats[user_id] = FakeChat(user_id, "private", user=user)
        else:
            chat.user = user
        return user

    def group(
        self,
        chat_id: int,
        title: str,
        admins: Iterable[int | FakeUser] = (),
        members: Iterable[int | FakeUser] = (),
        kind: str = "group",
        *,
        bot_admin: bool = False,
        bot_member: bool = True,
        username: str | None = None,
    ) -> FakeChat:
        """Create a group/supergroup.  The first admin is the creator.

        The bot is already a member (an administrator with ``bot_admin``) unless
        ``bot_member=False``; then sends answer 403 until ``add_bot``.
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if kind not in ("group", "supergroup"):
            raise ValueError("kind must be 'group' or 'supergroup'")
        chat = FakeChat(
            chat_id,
            kind,
            title=title,
            admins=[_user_id(a) for a in admins],
            members=[_user_id(m) for m in members],
            username=username,
            bot_status=("administrator" if bot_admin else "member") if bot_member else "left",
        )
        self.chats[chat_id] = chat
        return chat

    def private_chat(self, user: FakeUser | int) -> FakeChat:
        """The private chat between ``user`` and the bot."""
        chat = self.chats.get(_user_id(user))
        if chat is None or not chat.is_private:
            raise LookupError(f"unknown user {_user_id(user)}; create it with fake.user()")
        return chat

    def chat(self, ref: ChatRef) -> FakeChat:
        """Resolve a FakeChat, a FakeUser (their private chat) or a chat id."""
        if isinstance(ref, FakeChat):
            return ref
        chat = self.chats.get(ref.user_id if isinstance(ref, FakeUser) else ref)
        if chat is None:
            raise LookupError(f"unknown chat {ref!r}")
        return chat

    def find_chat(self, ref: int | str) -> FakeChat | None:
        """Resolve a Bot API ``chat_id`` value (id or ``@username``) as Telegram would."""
        if isinstance(ref, int):
            return self.chats.get(ref)
        if ref.startswith("@"):
            name = ref[1:].lower()
            return next(
                (
                    c
                    for c in self.chats.values()
                    if (c.username or (c.user.username if c.user else "") or "").lower() == name
                ),
                None,
            )
        return self.chats.get(int(ref)) if ref.lstrip("-").isdigit() else None

    def user_dict(self, user_id: int) -> JsonDict | None:
        """The User object for an id the fake knows of (bot, created user, listed member)."""
        if user_id == self.bot_id:
            return dict(self.bot_user)
        user = self.users.get(user_id)
        if user is not None:
            return user.to_dict()
        if any(c.has_member(user_id) for c in self.chats.values() if not c.is_private):
            return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        return None

    def member_status(self, chat: FakeChat, user_id: int) -> str:
        """ChatMember status of ``user_id`` in ``chat``."""
        if user_id == self.bot_id:
            return chat.bot_status
        if chat.is_private:
            return "member" if user_id == chat.chat_id else "left"
        if chat.admins and user_id == chat.admins[0]:
            return "creator"
        if user_id in chat.admins:
            return "administrator"
        return "member" if user_id in chat.members else "left"

    # ---------------------------------------------------------------- messages

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
        chat_id = chat.chat_id if isinstance(chat, FakeChat) else _user_id(chat)
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

    @property
    def files(self) -> dict[str, StoredFile]:
        """Every file the fake cloud knows, by file_id."""
        return self.file_store.files

    # ----------------------------------------------------------------- updates

    @property
    def update_signal(self) -> asyncio.Event:
        """Set (and replaced) whenever an update is queued; long polls wait on it."""
        return self._update_signal

    def wake_pollers(self) -> None:
        """Wake every waiting long poll."""
        self._update_signal.set()
        self._update_signal = asyncio.Event()

    def queue_update(self, kind: str, payload: JsonDict) -> JsonDict:
        """Queue an Update of type ``kind`` (a snapshot of ``payload``) for getUpdates."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self.wake_pollers()
        return update

    @property
    def pending_update_count(self) -> int:
        """Updates not confirmed yet."""
        return len(self._updates)

    @property
    def updates_consumed(self) -> bool:
        """True once every queued update has been handed to the bot at least once."""
        return not self._updates or self._updates[-1]["update_id"] <= self._delivered_upto

    def pending_updates(self) -> list[JsonDict]:
        """Unconfirmed updates (for debugging)."""
        return list(self._updates)

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps the last ``-offset``."""
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def take_updates(self, limit: int, allowed: frozenset[str] | None) -> list[JsonDict]:
        """Up to ``limit`` pending updates; those ``allowed`` excludes are dropped for good."""
        if allowed is not None:
            kept: deque[JsonDict] = deque()
            for update in self._updates:
                if _update_kind(update) in allowed:
                    kept.append(update)
                else:
                    self.dropped_updates.append(update)
            self._updates = kept
        batch = list(itertools.islice(self._updates, limit))
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
        return batch

    def drop_pending_updates(self) -> None:
        """deleteWebhook/setWebhook with drop_pending_updates."""
        self._updates.clear()

    def _deliver(self, chat: FakeChat, kind: str, payload: JsonDict) -> None:
        """Queue an update unless the bot is no longer in that group."""
        if chat.is_private or not chat.bot_removed:
            self.queue_update(kind, payload)

    # ---------------------------------------------------------- user actions

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

    # ------------------------------------------------------- membership events

    def add_member(self, chat: FakeChat, user: FakeUser) -> FakeMessage:
        """``user`` joins a group: a ``new_chat_members`` service message."""
        if user.user_id not in chat.members:
            chat.members.append(user.user_id)
        return self._service_message(chat, user, {"new_chat_members": [user.to_dict()]})

    def remove_member(self, chat: FakeChat, user: FakeUser) -> FakeMessage:
        """``user`` leaves a group: a ``left_chat_member`` service message."""
        for group in (chat.members, chat.admins):
            if user.user_id in group:
                group.remove(user.user_id)
        return self._service_message(chat, user, {"left_chat_member": user.to_dict()})

    def remove_bot(self, chat: FakeChat, by: FakeUser) -> None:
        """``by`` kicks the bot from a group: my_chat_member (status "kicked").

        Later sends to the chat answer 403 "bot was kicked from the group chat"
        and the bot no longer receives the group's messages.
        """
        self._bot_status_change(chat, by, "kicked")

    def add_bot(self, chat: FakeChat, by: FakeUser, *, as_admin: bool = False) -> FakeMessage:
        """``by`` adds the bot to a group: my_chat_member + new_chat_members message.

        The update's old status is the bot's previous one if it had been removed,
        else "left" (so a group made with ``fake.group()`` can be "joined" too).
        """
        if not chat.bot_removed:
            chat.bot_status = "left"
        self._bot_status_change(chat, by, "administrator" if as_admin else "member")
        return self._service_message(chat, by, {"new_chat_members": [dict(self.bot_user)]})

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

    def migrate(self, chat: FakeChat, new_chat_id: int) -> FakeChat:
        """Upgrade a group to a supergroup with ``new_chat_id``; returns the new chat.

        Sends to the old id then answer 400 with ``migrate_to_chat_id``.  Like
        Telegram, the bot receives a ``migrate_to_chat_id`` service message in
        the old chat and a ``migrate_from_chat_id`` one in the new chat.
        """
        if chat.kind != "group" or chat.migrated_to is not None:
            raise ValueError("only a (not yet migrated) basic group can be migrated")
        new_chat = self.group(
            new_chat_id,
            chat.title or "",
            admins=list(chat.admins),
            members=list(chat.members),
            kind="supergroup",
            username=chat.username,
        )
        new_chat.bot_status = chat.bot_status
        actor = self.users.get(chat.admins[0]) if chat.admins else None
        self._service_message(chat, actor, {"migrate_to_chat_id": new_chat_id})
        chat.migrated_to = new_chat_id
        self._service_message(new_chat, actor, {"migrate_from_chat_id": chat.chat_id})
        return new_chat

    def _service_message(
        self, chat: FakeChat, actor: FakeUser | None, content: JsonDict
    ) -> FakeMessage:
        """Store a service message and deliver it to the bot."""
        raw = self.new_message_dict(chat, actor.to_dict() if actor else None)
        raw.update(content)
        message = self.store(FakeMessage.from_raw(raw, from_bot=False))
        self._deliver(chat, "message", raw)
        return message

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


def reply_snapshot(message: FakeMessage) -> JsonDict:
    """A copy of a message as embedded in another one (no nested reply)."""
    snapshot = copy.deepcopy(message.raw)
    snapshot.pop("reply_to_message", None)
    return snapshot


def _location(latitude: float, longitude: float) -> JsonDict:
    """A Location dict."""
    return {"latitude": float(latitude), "longitude": float(longitude)}


def _user_id(user: FakeUser | FakeChat | int) -> int:
    """Id of a user given as FakeUser, private FakeChat or int."""
    if isinstance(user, FakeUser):
        return user.user_id
    if isinstance(user, FakeChat):
        return user.chat_id
    return int(user)
