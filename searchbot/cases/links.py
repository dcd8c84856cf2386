"""Deep links into the bot's private chat (``t.me/BOT?start=PAYLOAD``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DeepLinks:
    """``bot_username`` is learned from Telegram (getMe) at start-up."""

    bot_username: str = "searchbot"

    def deep_link(self, payload: str) -> str:
        return f"https://t.me/{self.bot_username}?start={payload}"
