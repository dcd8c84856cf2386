"""Editing and deleting: editMessageText, editMessageCaption, editMessageReplyMarkup,
editMessageMedia, deleteMessage and deleteMessages, refused as Telegram refuses them (a message
that is not the bot's, an edit that changes nothing, a message older than 48 hours)."""

from __future__ import annotations

import time

from .errors import ApiError
from .method_base import TEXT_LIMIT, Files, Handler, JsonDict, MethodFamily
from .objects import FakeMessage

__all__ = ["DELETE_WINDOW", "Editing"]

DELETE_WINDOW = 48 * 3600  # seconds after which Telegram refuses to delete a message

_MEDIA_KEYS = ("photo", "document", "voice", "sticker", "caption", "caption_entities")

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class Editing(MethodFamily):
    """Methods that change or remove a message already sent."""

    def handlers(self) -> dict[str, Handler]:
        """The edit* and delete* methods."""
        return {
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageMedia": self.edit_message_media,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
        }

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


def _too_old_to_delete(message: FakeMessage) -> bool:
    """Telegram: "A message can only be deleted if it was sent less than 48 hours ago"."""
    return message.date < time.time() - DELETE_WINDOW
