"""Bot API methods implemented for real by the fake server (except getUpdates).

Each handler takes the already validated and decoded parameters plus the
multipart attachments, changes the :class:`World`, and returns the ``result``
Telegram would return, or raises :class:`ApiError`.  getUpdates lives in the
server because it waits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .errors import ApiError
from .markup import EntityParseError, ParsedText, parse_formatted, utf16_len
from .objects import FakeChat, FakeMessage, UploadedFile
from .world import World, chat_member_dict

__all__ = ["BotApiMethods", "Handler"]

JsonDict = dict[str, Any]
Files = Mapping[str, UploadedFile]
Handler = Callable[[JsonDict, Files], Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
DELETE_WINDOW = 48 * 3600  # seconds after which Telegram refuses to delete a message
# Content keys copied by copyMessage/forwardMessage.
_CONTENT_KEYS = (
    "text",
    "entities",
    "photo",
    "caption",
    "caption_entities",
    "location",
    "venue",
    "document",
    "sticker",
    "voice",
    "contact",
)
_MEDIA_KEYS = ("photo", "document", "voice", "sticker", "caption", "caption_entities")
_DEFAULT_SCOPE = json.dumps({"type": "default"}, sort_keys=True)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_BAD_QUERY = "query is too old and response timeout expired or query ID is invalid"


def _short(text: str, limit: int = 80) -> str:
    """Abbreviated repr for violation details."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _scope_key(scope: Any) -> str:
    """Canonical JSON of a BotCommandScope (default scope when absent)."""
    return json.dumps(scope, sort_keys=True) if scope else _DEFAULT_SCOPE


class BotApiMethods:
    """Implementations of the Bot API methods the fake supports for real."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.commands: dict[tuple[str, str], JsonDict] = {}
        self.webhook_url = ""
        self.webhook_secret = ""
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": _true,
            "close": _true,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendLocation": self.send_location,
            "sendVenue": self.send_venue,
            "sendMediaGroup": self.send_media_group,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageMedia": self.edit_message_media,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "getChatMemberCount": self.get_chat_member_count,
            "setMyCommands": self.set_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getMyCommands": self.get_my_commands,
            "getFile": self.get_file,
            "sendChatAction": self.send_chat_action,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": self._setter("description"),
            "getMyDescription": self._getter("description", "description"),
            "setMyShortDescription": self._setter("short_description"),
            "getMyShortDescription": self._getter("short_description", "short_description"),
            "setMyName": self._setter("name"),
            "getMyName": self._getter("name", "name"),
        }

    # ------------------------------------------------------------- helpers

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
        if any(not _web_app_url_ok(url) for url in web_apps):
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

    # ------------------------------------------------------- bot & webhook

    def get_me(self, params: JsonDict, files: Files) -> JsonDict:
        """getMe: the bot user with its capabilities."""
        return {
            **self.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def delete_webhook(self, params: JsonDict, files: Files) -> bool:
        """deleteWebhook: forget the webhook, optionally dropping pending updates."""
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self.world.drop_pending_updates()
        return True

    def set_webhook(self, params: JsonDict, files: Files) -> bool:
        """setWebhook: remember the URL (getUpdates then answers 409 like Telegram)."""
        self.webhook_url = params["url"]
        self.webhook_secret = params.get("secret_token", "")
        if params.get("drop_pending_updates"):
            self.world.drop_pending_updates()
        self.world.wake_pollers()  # the webhook pusher delivers what is already queued
        return True

    def get_webhook_info(self, params: JsonDict, files: Files) -> JsonDict:
        """getWebhookInfo."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.world.pending_update_count,
        }

    # ---------------------------------------------------------- sending

    def send_message(self, params: JsonDict, files: Files) -> JsonDict:
        """sendMessage."""
        chat = self.target_chat(params)
        parsed = self.formatted(params, "text", limit=TEXT_LIMIT, allow_empty=False)
        content: JsonDict = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self.deliver(chat, params, content, params["text"])

    def send_photo(self, params: JsonDict, files: Files) -> JsonDict:
        """sendPhoto by upload, file_id or URL."""
        chat = self.target_chat(params)
        caption = self.caption_content(params)
        content = {"photo": self.photo_sizes(params["photo"], files), **caption}
        return self.deliver(chat, params, content, params.get("caption"))

    def send_document(self, params: JsonDict, files: Files) -> JsonDict:
        """sendDocument by upload, file_id or URL."""
        chat = self.target_chat(params)
        caption = self.caption_content(params)
        content = {"document": self.document(params["document"], files), **caption}
        return self.deliver(chat, params, content, params.get("caption"))

    def send_location(self, params: JsonDict, files: Files) -> JsonDict:
        """sendLocation."""
        chat = self.target_chat(params)
        content = {"location": _checked_location(params)}
        return self.deliver(chat, params, content, None)

    def send_venue(self, params: JsonDict, files: Files) -> JsonDict:
        """sendVenue (the Message carries both venue and location, like Telegram's)."""
        chat = self.target_chat(params)
        where = _checked_location(params)
        venue = {"location": where, "title": params["title"], "address": params["address"]}
        return self.deliver(chat, params, {"venue": venue, "location": where}, None)

    def send_media_group(self, params: JsonDict, files: Files) -> list[JsonDict]:
        """sendMediaGroup of photos/documents: 2-10 items sharing a media_group_id."""
        chat = self.target_chat(params)
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise ApiError.bad_request(
                "wrong number of messages: a media group must include 2-10 items", violation=True
            )
        contents = [self.media_content(item, files) for item in media]
        group_id = self.world.next_media_group_id()
        reply_to = self.reply_target(chat, params)
        results = []
        for item, content in zip(media, contents, strict=True):
            message = self.world.add_bot_message(
                chat,
                {**content, "media_group_id": group_id},
                html=item.get("caption"),
                parse_mode=item.get("parse_mode"),
                reply_to=reply_to,
            )
            results.append(message.raw)
        return results

    def media_content(self, item: JsonDict, files: Files) -> JsonDict:
        """Message content of one InputMedia (photo and document are supported)."""
        caption = self.caption_content(item)
        if item["type"] == "photo":
            return {"photo": self.photo_sizes(item["media"], files), **caption}
        if item["type"] == "document":
            return {"document": self.document(item["media"], files), **caption}
        raise ApiError.bad_request(f"the fake Bot API does not support {item['type']} media")

    def copy_message(self, params: JsonDict, files: Files) -> JsonDict:
        """copyMessage: same content, no link to the original; returns a MessageId."""
        chat = self.target_chat(params)
        source = self.source_message(params, "copy")
        content = {k: v for k, v in source.raw.items() if k in _CONTENT_KEYS}
        if "caption" in params:
            content = {k: v for k, v in content.items() if k not in ("caption", "caption_entities")}
            content.update(self.caption_content(params))
        message = self.world.add_bot_message(
            chat,
            content,
            html=params.get("caption", source.html),
            reply_markup=params.get("reply_markup"),
            reply_to=self.reply_target(chat, params),
        )
        return {"message_id": message.message_id}

    def forward_message(self, params: JsonDict, files: Files) -> JsonDict:
        """forwardMessage: same content with a forward_origin."""
        chat = self.target_chat(params)
        source = self.source_message(params, "forward")
        content = {k: v for k, v in source.raw.items() if k in _CONTENT_KEYS}
        origin_user = source.raw.get("from") or dict(self.world.bot_user)
        content["forward_origin"] = {
            "type": "user",
            "date": source.date,
            "sender_user": origin_user,
        }
        return self.world.add_bot_message(chat, content, html=source.html).raw

    def source_message(self, params: JsonDict, verb: str) -> FakeMessage:
        """The message copyMessage/forwardMessage reads from."""
        source_chat = self.target_chat(params, "from_chat_id")
        source = self.world.get_message(source_chat.chat_id, params["message_id"])
        if source is None or source.deleted:
            raise ApiError.bad_request(f"message to {verb} not found")
        return source

    def send_chat_action(self, params: JsonDict, files: Files) -> bool:
        """sendChatAction: only checks the chat."""
        self.target_chat(params)
        return True

    # ---------------------------------------------------------- editing

    def editable(self, params: JsonDict) -> FakeMessage | None:
        """The bot message an edit targets; None for inline messages (not modelled)."""
        if "inline_message_id" in params:
            return None
        chat = self.target_chat(params)
        message = self.world.get_message(chat.chat_id, params["message_id"])
        if message is None or message.deleted:
            raise ApiError.bad_request("message to edit not found")
        if not message.from_bot:
            raise ApiError.bad_request("message can't be edited")
        return message

    def edit_message_text(self, params: JsonDict, files: Files) -> JsonDict | bool:
        """editMessageText; omitting reply_markup removes the keyboard, as on Telegram."""
        message = self.editable(params)
        if message is None:
            return True
        if message.kind != "text":
            raise ApiError.bad_request("there is no text in the message to edit")
        parsed = self.formatted(params, "text", limit=TEXT_LIMIT, allow_empty=False)
        markup = params.get("reply_markup")
        if (parsed.text, parsed.entities, markup) == (
            message.text,
            message.entities,
            message.reply_markup,
        ):
            raise ApiError.bad_request(_NOT_MODIFIED)
        self.world.update_bot_message(
            message,
            {"text": parsed.text, "entities": parsed.entities},
            reply_markup=markup,
            html=params["text"],
            parse_mode=params.get("parse_mode"),
        )
        return message.raw

    def edit_message_caption(self, params: JsonDict, files: Files) -> JsonDict | bool:
        """editMessageCaption of a media message; omitting caption removes it."""
        message = self.editable(params)
        if message is None:
            return True
        if message.kind not in ("photo", "document", "voice"):
            raise ApiError.bad_request("there is no caption in the message to edit")
        caption = self.caption_content(params)
        markup = params.get("reply_markup")
        current = (message.caption, message.entities, message.reply_markup)
        if (caption.get("caption"), caption.get("caption_entities", []), markup) == current:
            raise ApiError.bad_request(_NOT_MODIFIED)
        self.world.update_bot_message(
            message,
            {
                "caption": caption.get("caption"),
                "caption_entities": caption.get("caption_entities"),
            },
            reply_markup=markup,
            html=params.get("caption"),
            parse_mode=params.get("parse_mode"),
        )
        return message.raw

    def edit_message_reply_markup(self, params: JsonDict, files: Files) -> JsonDict | bool:
        """editMessageReplyMarkup; no reply_markup removes the keyboard."""
        message = self.editable(params)
        if message is None:
            return True
        markup = params.get("reply_markup")
        if (markup or None) == (message.reply_markup or None):
            raise ApiError.bad_request(_NOT_MODIFIED)
        self.world.update_bot_message(message, {}, reply_markup=markup)
        return message.raw

    def edit_message_media(self, params: JsonDict, files: Files) -> JsonDict | bool:
        """editMessageMedia with a photo or document."""
        message = self.editable(params)
        if message is None:
            return True
        if message.kind not in ("photo", "document"):
            raise ApiError.bad_request("there is no media in the message to edit")
        item = params["media"]
        content = self.media_content(item, files)
        changes: JsonDict = dict.fromkeys(_MEDIA_KEYS)
        changes.update(content)
        self.world.update_bot_message(
            message,
            changes,
            reply_markup=params.get("reply_markup"),
            html=item.get("caption"),
            parse_mode=item.get("parse_mode"),
        )
        return message.raw

    def delete_message(self, params: JsonDict, files: Files) -> bool:
        """deleteMessage (any message of the chat; deleting twice is an error)."""
        chat = self.target_chat(params)
        message = self.world.get_message(chat.chat_id, params["message_id"])
        if message is None or message.deleted:
            raise ApiError.bad_request("message to delete not found")
        if _too_old_to_delete(message):
            raise ApiError.bad_request("message can't be deleted")
        message.deleted = True
        return True

    def delete_messages(self, params: JsonDict, files: Files) -> bool:
        """deleteMessages: messages that cannot be found are skipped."""
        chat = self.target_chat(params)
        for message_id in params["message_ids"]:
            message = self.world.get_message(chat.chat_id, message_id)
            if message is not None and not _too_old_to_delete(message):
                message.deleted = True
        return True

    # --------------------------------------------------------- callbacks

    def answer_callback_query(self, params: JsonDict, files: Files) -> bool:
        """answerCallbackQuery: once per query; text up to 200 characters."""
        query_id = params["callback_query_id"]
        text = params.get("text", "")
        if utf16_len(text) > CALLBACK_TEXT_LIMIT:
            raise ApiError.bad_request(
                "MESSAGE_TOO_LONG",
                violation=True,
                detail=f"callback answer text has {utf16_len(text)} characters, limit 200",
            )
        if query_id not in self.world.callback_queries or query_id in self.world.callback_answers:
            raise ApiError.bad_request(_BAD_QUERY)
        self.world.callback_answers[query_id] = dict(params)
        return True

    # ------------------------------------------------------------- chats

    def get_chat(self, params: JsonDict, files: Files) -> JsonDict:
        """getChat: a ChatFullInfo."""
        chat = self.target_chat(params)
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def get_chat_member(self, params: JsonDict, files: Files) -> JsonDict:
        """getChatMember: creator (first admin) / administrator / member / left."""
        chat = self.target_chat(params)
        user = self.world.user_dict(params["user_id"])
        if user is None:
            raise ApiError.bad_request("user not found")
        return chat_member_dict(user, self.world.member_status(chat, params["user_id"]))

    def get_chat_administrators(self, params: JsonDict, files: Files) -> list[JsonDict]:
        """getChatAdministrators: the admins (and the bot if it is one)."""
        chat = self.target_chat(params)
        if chat.is_private:
            raise ApiError.bad_request("there are no administrators in the private chat")
        ids = list(chat.admins)
        if chat.bot_status == "administrator":
            ids.append(self.world.bot_id)
        return [
            chat_member_dict(self.world.user_dict(uid) or {}, self.world.member_status(chat, uid))
            for uid in ids
        ]

    def get_chat_member_count(self, params: JsonDict, files: Files) -> int:
        """getChatMemberCount: users plus the bot."""
        chat = self.target_chat(params)
        if chat.is_private:
            return 2
        return len(set(chat.admins) | set(chat.members)) + 1

    # ---------------------------------------------------- bot settings

    def set_my_commands(self, params: JsonDict, files: Files) -> bool:
        """setMyCommands keyed by (scope JSON, language_code)."""
        self._scope_chat(params)
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        self.commands[key] = dict(params)
        return True

    def delete_my_commands(self, params: JsonDict, files: Files) -> bool:
        """deleteMyCommands."""
        self._scope_chat(params)
        self.commands.pop((_scope_key(params.get("scope")), params.get("language_code", "")), None)
        return True

    def _scope_chat(self, params: JsonDict) -> None:
        """A scope naming a chat the bot does not know is refused, as Telegram does."""
        scope = params.get("scope") or {}
        if "chat_id" in scope and self.world.find_chat(scope["chat_id"]) is None:
            raise ApiError.bad_request("chat not found")

    def get_my_commands(self, params: JsonDict, files: Files) -> list[JsonDict]:
        """getMyCommands."""
        key = (_scope_key(params.get("scope")), params.get("language_code", ""))
        return list(self.commands.get(key, {}).get("commands", []))

    def set_chat_menu_button(self, params: JsonDict, files: Files) -> bool:
        """setChatMenuButton (per private chat, or the default without chat_id)."""
        if params.get("chat_id") is not None:
            chat = self.world.find_chat(params["chat_id"])
            if chat is None or not chat.is_private:
                raise ApiError.bad_request("chat not found")
        web_app = (params.get("menu_button") or {}).get("web_app") or {}
        if web_app and not _web_app_url_ok(str(web_app.get("url", ""))):
            raise ApiError.bad_request("BUTTON_URL_INVALID")
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    def get_chat_menu_button(self, params: JsonDict, files: Files) -> JsonDict:
        """getChatMenuButton."""
        return self.menu_buttons.get(params.get("chat_id"), {"type": "commands"})

    def _setter(self, field: str) -> Handler:
        """setMyDescription/setMyShortDescription/setMyName."""

        def setter(params: JsonDict, files: Files) -> bool:
            self.bot_texts[(field, params.get("language_code", ""))] = params.get(field, "")
            return True

        return setter

    def _getter(self, field: str, result_key: str) -> Handler:
        """getMyDescription/getMyShortDescription/getMyName."""

        def getter(params: JsonDict, files: Files) -> JsonDict:
            default = self.world.bot_user["first_name"] if field == "name" else ""
            return {
                result_key: self.bot_texts.get((field, params.get("language_code", "")), default)
            }

        return getter

    def get_file(self, params: JsonDict, files: Files) -> JsonDict:
        """getFile: file_path for a known file_id."""
        stored = self.world.files.get(params["file_id"])
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        return stored.to_file_dict()

    # ------------------------------------------------------------ fallback

    def generic(self, params: JsonDict, returns: tuple[str, ...]) -> Any:
        """Any other spec method: checks chat/caption, returns a bare Message or True."""
        chat = self.target_chat(params) if "chat_id" in params else None
        caption = self.caption_content(params)
        if returns == ("Message",) and chat is not None:
            return self.world.add_bot_message(chat, caption, html=params.get("caption")).raw
        return True


def _checked_location(params: JsonDict) -> JsonDict:
    """Location dict from latitude/longitude parameters, range-checked."""
    latitude, longitude = params["latitude"], params["longitude"]
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise ApiError.bad_request("wrong latitude or longitude")
    return {"latitude": latitude, "longitude": longitude}


def _true(params: JsonDict, files: Files) -> bool:
    """Methods that simply succeed."""
    return True


def _too_old_to_delete(message: FakeMessage) -> bool:
    """Telegram: "A message can only be deleted if it was sent less than 48 hours ago"."""
    return message.date < time.time() - DELETE_WINDOW


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


def _web_app_url_ok(url: str) -> bool:
    """Telegram opens Mini Apps over https; its test environment (which this fake plays)
    also takes http, and we allow that only for this machine's own addresses."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
