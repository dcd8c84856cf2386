"""What the fake's Bot API methods share: the target chat, formatted text, files, replies.

:class:`MethodFamily` is the base of each family of methods (sending, editing, chats, the bot's
setup, webhook, Stars).  Its helpers refuse what Telegram refuses before a method changes the
:class:`~fakegram.world.World`: a chat the bot cannot write to, unparsable HTML, an over-long
text, an unknown file_id, a reply to a message that is not there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError
from .markup import EntityParseError, ParsedText, parse_formatted, utf16_len
from .objects import FakeChat, FakeMessage, UploadedFile
from .world import World

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "Files",
    "Handler",
    "JsonDict",
    "MethodFamily",
    "web_app_url_ok",
]

JsonDict = dict[str, Any]
Files = Mapping[str, UploadedFile]
Handler = Callable[[JsonDict, Files], Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def _short(text: str, limit: int = 80) -> str:
    """Abbreviated repr for violation details."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class MethodFamily:
    """A family of Bot API methods over one world; ``handlers()`` names them by API method."""

    def __init__(self, world: World) -> None:
        self.world = world

    def handlers(self) -> dict[str, Handler]:
        """The Bot API methods this family implements, by name."""
        return {}

    def target_chat(self, params: JsonDict, key: str = "chat_id") -> FakeChat:
        """Resolve ``params[key]`` and refuse chats the bot cannot write to."""
        chat = self.world.find_chat(params[key])
        if chat is None:
            raise ApiError.bad_request("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.is_private and chat.blocked:
            raise ApiError.forbidden("bot was blocked by the user")
        if chat.bot_status == "kicked":
            raise ApiError.forbidden(f"bot was kicked from the {chat.kind} chat")
        if chat.bot_status == "left":
            raise ApiError.forbidden(f"bot is not a member of the {chat.kind} chat")
        web_apps = _web_app_urls(params.get("reply_markup"))
        if web_apps and not chat.is_private:  # Mini App buttons: private chats only
            raise ApiError.bad_request("BUTTON_TYPE_INVALID")
        if any(not web_app_url_ok(url) for url in web_apps):
            raise ApiError.bad_request("BUTTON_URL_INVALID")
        return chat

    @staticmethod
    def formatted(
        params: JsonDict,
        key: str,
        *,
        limit: int,
        allow_empty: bool,
        entities_key: str = "entities",
    ) -> ParsedText:
        """Parse ``params[key]`` with its parse_mode and enforce Telegram's length limits."""
        source = params.get(key, "")
        try:
            if entities_key in params:
                parsed = ParsedText(source, list(params[entities_key]))
            else:
                parsed = parse_formatted(source, params.get("parse_mode"))
        except EntityParseError as exc:
            raise ApiError.bad_request(
                f"can't parse entities: {exc}", violation=True, detail=f"{key}={_short(source)}"
            ) from exc
        size = utf16_len(parsed.text)
        what = "message text" if key == "text" else "message caption"
        if size == 0 and not allow_empty:
            raise ApiError.bad_request(f"{what} is empty", violation=True)
        if size > limit:
            raise ApiError.bad_request(
                "message is too long" if key == "text" else "message caption is too long",
                violation=True,
                detail=f"{size} UTF-16 code units, limit {limit}",
            )
        return parsed

    def caption_content(self, params: JsonDict) -> JsonDict:
        """caption/caption_entities content of a media message (empty without caption)."""
        if "caption" not in params:
            return {}
        parsed = self.formatted(
            params,
            "caption",
            limit=CAPTION_LIMIT,
            allow_empty=True,
            entities_key="caption_entities",
        )
        content: JsonDict = {}
        if parsed.text:
            content["caption"] = parsed.text
        if parsed.entities:
            content["caption_entities"] = parsed.entities
        return content

    def reply_target(self, chat: FakeChat, params: JsonDict) -> FakeMessage | None:
        """The message ``reply_parameters`` points at (None without one)."""
        reply = params.get("reply_parameters")
        if not reply:
            return None
        chat_id = chat.chat_id
        if "chat_id" in reply:
            other = self.world.find_chat(reply["chat_id"])
            chat_id = other.chat_id if other else 0
        message = self.world.get_message(chat_id, reply["message_id"])
        if message is None or message.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise ApiError.bad_request("message to be replied not found")
        return message

    def deliver(
        self, chat: FakeChat, params: JsonDict, content: JsonDict, html: str | None
    ) -> JsonDict:
        """Store a bot message built from ``content``; returns the Message dict."""
        message = self.world.add_bot_message(
            chat,
            content,
            html=html,
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            reply_to=self.reply_target(chat, params),
        )
        return message.raw

    def resolve_upload(self, value: Any, files: Files) -> UploadedFile | None:
        """The uploaded file behind an InputFile value or an ``attach://name`` string."""
        upload: UploadedFile | None = None
        if isinstance(value, UploadedFile):
            upload = value
        elif isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
        if upload is None:
            if isinstance(value, str) and value.startswith("attach://"):
                raise ApiError.bad_request(
                    f"file {value} was not uploaded in the request", violation=True
                )
            return None
        if upload.size == 0:
            raise ApiError.bad_request("file must be non-empty")
        return upload

    def photo_sizes(self, value: Any, files: Files) -> list[JsonDict]:
        """PhotoSize list for an upload, a known file_id, or an HTTP URL."""
        upload = self.resolve_upload(value, files)
        if upload is not None:
            return self.world.file_store.new_photo(upload.data)
        if value.startswith(("http://", "https://")):
            return self.world.file_store.new_photo(None)
        sizes = self.world.file_store.photo_sizes(value)
        if sizes is None:
            if value in self.world.files:
                raise ApiError.bad_request("type of file mismatch")
            raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        return sizes

    def document(self, value: Any, files: Files) -> JsonDict:
        """Document dict for an upload, a known file_id, or an HTTP URL."""
        upload = self.resolve_upload(value, files)
        if upload is not None:
            return self.world.file_store.new_document(
                upload.data, upload.filename, upload.content_type
            )
        if value.startswith(("http://", "https://")):
            return self.world.file_store.new_document(None, value.rsplit("/", 1)[-1] or "file")
        document = self.world.file_store.document_dict(value)
        if document is None:
            if value in self.world.files:
                raise ApiError.bad_request("type of file mismatch")
            raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        return document

    def media_content(self, item: JsonDict, files: Files) -> JsonDict:
        """Message content of one InputMedia (photo and document are supported)."""
        caption = self.caption_content(item)
        if item["type"] == "photo":
            return {"photo": self.photo_sizes(item["media"], files), **caption}
        if item["type"] == "document":
            return {"document": self.document(item["media"], files), **caption}
        raise ApiError.bad_request(f"the fake Bot API does not support {item['type']} media")


def _web_app_urls(markup: Any) -> list[str]:
    """The Mini App URLs of an inline keyboard."""
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or []
    return [
        str((button.get("web_app") or {}).get("url", ""))
        for row in rows
        if isinstance(row, list)
        for button in row
        if isinstance(button, dict) and "web_app" in button
    ]


def web_app_url_ok(url: str) -> bool:
    """Telegram opens Mini Apps over https; its test environment (which this fake plays)
    also takes http, and we allow that only for this machine's own addresses."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
