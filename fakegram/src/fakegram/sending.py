"""Sending: sendMessage, sendPhoto, sendDocument, sendLocation, sendVenue, sendMediaGroup,
copyMessage, forwardMessage, sendChatAction, and a plain answer for the other send methods."""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .method_base import TEXT_LIMIT, Files, Handler, JsonDict, MethodFamily
from .objects import FakeMessage

__all__ = ["Sending"]

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


class Sending(MethodFamily):
    """Methods that put a new bot message in a chat."""

    def handlers(self) -> dict[str, Handler]:
        """sendMessage and the other send methods the fake models for real."""
        return {
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendLocation": self.send_location,
            "sendVenue": self.send_venue,
            "sendMediaGroup": self.send_media_group,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "sendChatAction": self.send_chat_action,
        }

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
