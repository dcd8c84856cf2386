"""The fake Telegram cloud: users, chats, messages and the bot's update queue.

:class:`World` holds all state and implements what *people* do (send a message,
click a button, kick the bot...).  Each action stores the resulting message and
queues the Update the bot would receive.  The HTTP side lives in ``server.py``;
``FakeBotApi`` is a ``World`` with a server attached.

The world is built in layers, one concern a module: who is who (``directory.py``), the
bot's update queue (``updates.py``), the messages (``messages.py``), what people do
(``people.py``) and, here, who joins and leaves and what happens to the bot's membership.
"""

from __future__ import annotations

from typing import Any

from .directory import ChatRef, chat_member_dict
from .messages import reply_snapshot
from .objects import FakeChat, FakeMessage, FakeUser
from .people import People

__all__ = ["ChatRef", "World", "chat_member_dict", "reply_snapshot"]

JsonDict = dict[str, Any]


class World(People):
    """State of the fake Telegram cloud as seen by one bot."""

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
