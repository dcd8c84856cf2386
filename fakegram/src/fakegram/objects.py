"""Plain data objects of the fake Bot API: actors, messages, recorded calls, files.

These are what tests and the demo hold on to.  They are deliberately simple
dataclasses; the Telegram-shaped JSON lives in their ``to_dict()`` output or in
``FakeMessage.raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiCall",
    "FakeChat",
    "FakeMessage",
    "FakeUser",
    "StoredFile",
    "UploadedFile",
]

JsonDict = dict[str, Any]

# Keys of a Message dict that decide what kind of message it is, in priority order
# (a venue message also carries "location", so venue must come first).
_KIND_KEYS: tuple[str, ...] = (
    "text",
    "photo",
    "venue",
    "location",
    "document",
    "sticker",
    "voice",
    "contact",
    "new_chat_members",
    "left_chat_member",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "group_chat_created",
)


@dataclass(eq=False)
class FakeUser:
    """A human Telegram user played by a test. Their private chat id equals ``user_id``."""

    user_id: int
    first_name: str
    language_code: str | None = None
    username: str | None = None
    last_name: str | None = None

    @property
    def id(self) -> int:
        """Alias of ``user_id`` (Telegram's field name)."""
        return self.user_id

    def to_dict(self) -> JsonDict:
        """The Telegram ``User`` object."""
        data: JsonDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(eq=False)
class FakeChat:
    """A private chat, group or supergroup, plus the fake's state about it.

    ``bot_status`` is the bot's ChatMember status ("member", "administrator",
    "left", "kicked").  ``blocked`` applies to private chats, ``migrated_to`` to
    a group that was upgraded to a supergroup.
    """

    chat_id: int
    kind: str
    title: str | None = None
    admins: list[int] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    user: FakeUser | None = None
    username: str | None = None
    bot_status: str = "member"
    blocked: bool = False
    migrated_to: int | None = None

    @property
    def id(self) -> int:
        """Alias of ``chat_id`` (Telegram's field name)."""
        return self.chat_id

    @property
    def type(self) -> str:
        """Telegram's chat type: "private", "group" or "supergroup"."""
        return self.kind

    @property
    def is_private(self) -> bool:
        """True for a one-to-one chat between a user and the bot."""
        return self.kind == "private"

    @property
    def bot_removed(self) -> bool:
        """True once the bot was kicked from / left the group."""
        return self.bot_status in ("left", "kicked")

    def has_member(self, user_id: int) -> bool:
        """Whether ``user_id`` is in the chat (admins count as members)."""
        if self.is_private:
            return user_id == self.chat_id
        return user_id in self.admins or user_id in self.members

    def to_dict(self) -> JsonDict:
        """The Telegram ``Chat`` object."""
        data: JsonDict = {"id": self.chat_id, "type": self.kind}
        if self.is_private and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
        else:
            data["title"] = self.title or ""
            if self.username:
                data["username"] = self.username
        return data


@dataclass(eq=False)
class FakeMessage:
    """A message in a fake chat, sent by the bot or by a played user.

    ``text``/``caption`` hold the plain text the user sees (after parse-mode
    parsing); ``html`` the raw text/caption the bot sent.  ``reply_markup`` is
    the markup the bot attached (InlineKeyboardMarkup, ForceReply, ...), kept
    up to date by edits; ``raw`` is the Telegram Message dict.
    """

    message_id: int
    chat_id: int
    from_bot: bool
    from_user_id: int | None
    kind: str
    raw: JsonDict
    text: str | None = None
    caption: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    photo_file_id: str | None = None
    file_id: str | None = None
    location: tuple[float, float] | None = None
    venue_title: str | None = None
    venue_address: str | None = None
    contact_phone: str | None = None
    reply_markup: JsonDict | None = None
    reply_to_message_id: int | None = None
    media_group_id: str | None = None
    deleted: bool = False
    edited: bool = False
    date: int = 0

    @property
    def body(self) -> str:
        """The visible text: text, else caption, else ""."""
        return self.text or self.caption or ""

    @property
    def buttons(self) -> list[list[JsonDict]]:
        """Rows of inline keyboard buttons (``[]`` without an inline keyboard)."""
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def button_texts(self) -> list[str]:
        """All inline button labels, row by row."""
        return [str(button.get("text", "")) for row in self.buttons for button in row]

    def find_button(self, text: str) -> JsonDict | None:
        """First inline button whose label contains ``text`` (case-sensitive)."""
        for row in self.buttons:
            for button in row:
                if text in str(button.get("text", "")):
                    return button
        return None

    def refresh_from_raw(self) -> None:
        """Re-derive the convenience fields from ``raw`` (after building or editing it)."""
        raw = self.raw
        self.kind = next((key for key in _KIND_KEYS if key in raw), "other")
        self.date = int(raw.get("date", 0))
        self.text = raw.get("text")
        self.caption = raw.get("caption")
        self.entities = list(raw.get("entities") or raw.get("caption_entities") or [])
        self.edited = "edit_date" in raw or self.edited
        self.media_group_id = raw.get("media_group_id")
        replied = raw.get("reply_to_message")
        self.reply_to_message_id = replied.get("message_id") if replied else None
        self._refresh_media(raw)

    def _refresh_media(self, raw: JsonDict) -> None:
        """Fill the file/location/venue/contact shortcuts from ``raw``."""
        photo = raw.get("photo")
        self.photo_file_id = photo[-1]["file_id"] if photo else None
        media = raw.get("document") or raw.get("voice") or raw.get("sticker")
        self.file_id = media["file_id"] if media else self.photo_file_id
        location = raw.get("location")
        self.location = (location["latitude"], location["longitude"]) if location else None
        venue = raw.get("venue")
        self.venue_title = venue["title"] if venue else None
        self.venue_address = venue["address"] if venue else None
        contact = raw.get("contact")
        self.contact_phone = contact["phone_number"] if contact else None

    @classmethod
    def from_raw(
        cls,
        raw: JsonDict,
        *,
        from_bot: bool,
        html: str | None = None,
        parse_mode: str | None = None,
        reply_markup: JsonDict | None = None,
    ) -> FakeMessage:
        """Wrap a Telegram Message dict."""
        sender = raw.get("from")
        message = cls(
            message_id=raw["message_id"],
            chat_id=raw["chat"]["id"],
            from_bot=from_bot,
            from_user_id=sender["id"] if sender else None,
            kind="other",
            raw=raw,
            html=html,
            parse_mode=parse_mode,
            reply_markup=reply_markup,
        )
        message.refresh_from_raw()
        return message

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else f"user {self.from_user_id}"
        flags = "".join((" deleted" if self.deleted else "", " edited" if self.edited else ""))
        body = self.body if len(self.body) <= 60 else self.body[:57] + "..."
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return (
            f"<FakeMessage {self.chat_id}/{self.message_id} {self.kind} from {who}{flags}: "
            f"{body!r}{buttons}>"
        )


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made.  ``at`` is ``time.monotonic()`` when it arrived.

    ``params`` are the decoded parameters (ints, bools, dicts...; uploaded files
    appear as :class:`UploadedFile`).  ``description`` is the error text of a
    failed call.  ``paid`` is True for a send with ``allow_paid_broadcast`` that
    went through and was charged (0.1 Star a message, see ``stars.py``).
    """

    method: str
    params: JsonDict
    ok: bool
    error_code: int | None
    at: float
    description: str | None = None
    paid: bool = False


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part the bot uploaded (an ``InputFile``)."""

    field_name: str
    filename: str
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        """Number of bytes uploaded."""
        return len(self.data)

    def __repr__(self) -> str:
        return f"<UploadedFile {self.field_name}={self.filename!r} {self.size} bytes>"


@dataclass
class StoredFile:
    """A file the fake Telegram cloud knows, addressable by ``file_id``."""

    file_id: str
    file_unique_id: str
    kind: str
    file_path: str
    size: int
    data: bytes | None = None
    width: int = 0
    height: int = 0

    def to_file_dict(self) -> JsonDict:
        """The Telegram ``File`` object returned by getFile."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }
