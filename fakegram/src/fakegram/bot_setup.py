"""The bot's own setup: getMe, the commands menu, the menu button, name and descriptions,
getFile.  What the bot set is kept so tests can read it back (``FakeBotApi.commands``)."""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError
from .method_base import Files, Handler, JsonDict, MethodFamily, web_app_url_ok
from .world import World

__all__ = ["BotSetup"]

_DEFAULT_SCOPE = json.dumps({"type": "default"}, sort_keys=True)


def _scope_key(scope: Any) -> str:
    """Canonical JSON of a BotCommandScope (default scope when absent)."""
    return json.dumps(scope, sort_keys=True) if scope else _DEFAULT_SCOPE


class BotSetup(MethodFamily):
    """Methods that describe the bot itself; each setting is kept per scope and language."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.commands: dict[tuple[str, str], JsonDict] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}

    def handlers(self) -> dict[str, Handler]:
        """getMe, *MyCommands, *ChatMenuButton, *MyDescription, *MyShortDescription, *MyName,
        getFile."""
        return {
            "getMe": self.get_me,
            "setMyCommands": self.set_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getMyCommands": self.get_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": self._setter("description"),
            "getMyDescription": self._getter("description", "description"),
            "setMyShortDescription": self._setter("short_description"),
            "getMyShortDescription": self._getter("short_description", "short_description"),
            "setMyName": self._setter("name"),
            "getMyName": self._getter("name", "name"),
            "getFile": self.get_file,
        }

    def get_me(self, params: JsonDict, files: Files) -> JsonDict:
        """getMe: the bot user with its capabilities."""
        return {
            **self.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

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
        if web_app and not web_app_url_ok(str(web_app.get("url", ""))):
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
