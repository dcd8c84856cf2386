"""Chats and members: getChat, getChatMember, getChatAdministrators, getChatMemberCount, and
answerCallbackQuery (once per button press, as on Telegram)."""

from __future__ import annotations

from .directory import chat_member_dict
from .errors import ApiError
from .markup import utf16_len
from .method_base import Files, Handler, JsonDict, MethodFamily

__all__ = ["ChatMethods"]

CALLBACK_TEXT_LIMIT = 200

_BAD_QUERY = "query is too old and response timeout expired or query ID is invalid"


class ChatMethods(MethodFamily):
    """Methods that read chats and their members, and answer button presses."""

    def handlers(self) -> dict[str, Handler]:
        """getChat*, answerCallbackQuery."""
        return {
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "getChatMemberCount": self.get_chat_member_count,
            "answerCallbackQuery": self.answer_callback_query,
        }

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
