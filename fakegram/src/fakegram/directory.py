"""Who is who in the fake Telegram cloud: the bot, the users, the chats, their members.

:class:`Directory` is the base of :class:`~fakegram.world.World`: it holds the bot's identity and
the people and chats tests create, and resolves a Bot API ``chat_id`` (an id or ``@username``)
the way Telegram does.  Messages, updates and what people do are built on it in
``messages.py``, ``people.py`` and ``world.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .files import FileStore
from .objects import FakeChat, FakeUser, StoredFile
from .stars import StarLedger

__all__ = ["ChatRef", "Directory", "chat_member_dict", "user_id_of"]

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


class Directory:
    """The bot's identity and Stars, and the users and chats of the fake Telegram cloud."""

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
        self.star_ledger = StarLedger()  # the bot's Telegram Stars (paid broadcasts)

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
            admins=[user_id_of(a) for a in admins],
            members=[user_id_of(m) for m in members],
            username=username,
            bot_status=("administrator" if bot_admin else "member") if bot_member else "left",
        )
        self.chats[chat_id] = chat
        return chat

    def private_chat(self, user: FakeUser | int) -> FakeChat:
        """The private chat between ``user`` and the bot."""
        chat = self.chats.get(user_id_of(user))
        if chat is None or not chat.is_private:
            raise LookupError(f"unknown user {user_id_of(user)}; create it with fake.user()")
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

    @property
    def files(self) -> dict[str, StoredFile]:
        """Every file the fake cloud knows, by file_id."""
        return self.file_store.files


def user_id_of(user: FakeUser | FakeChat | int) -> int:
    """Id of a user given as FakeUser, private FakeChat or int."""
    if isinstance(user, FakeUser):
        return user.user_id
    if isinstance(user, FakeChat):
        return user.chat_id
    return int(user)
