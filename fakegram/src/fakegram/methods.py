"""Bot API methods implemented for real by the fake server (except getUpdates).

Each handler takes the already validated and decoded parameters plus the
multipart attachments, changes the :class:`World`, and returns the ``result``
Telegram would return, or raises :class:`ApiError`.  getUpdates lives in the
server because it waits.

The methods come in families, one module each: sending (``sending.py``), editing and
deleting (``editing.py``), chats and members (``chat_methods.py``), the bot's setup
(``bot_setup.py``), the webhook (``webhook.py``), Stars (``payments.py``); what they share is in ``method_base.py``.
:class:`BotApiMethods` puts them together in one table, ``handlers``, by API method name.
"""

from __future__ import annotations

from typing import Any

from .bot_setup import BotSetup
from .chat_methods import ChatMethods
from .editing import Editing
from .method_base import Handler, JsonDict, MethodFamily
from .payments import Payments
from .sending import Sending
from .webhook import Webhook
from .world import World

__all__ = ["BotApiMethods", "Handler"]


class BotApiMethods:
    """Every Bot API method the fake supports for real, by name (``handlers``)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._sending = Sending(world)
        self._setup = BotSetup(world)
        self._webhook = Webhook(world)
        families: tuple[MethodFamily, ...] = (
            self._setup,
            self._webhook,
            self._sending,
            Editing(world),
            ChatMethods(world),
            Payments(world),
        )
        self.handlers: dict[str, Handler] = {}
        for family in families:
            self.handlers.update(family.handlers())

    @property
    def commands(self) -> dict[tuple[str, str], JsonDict]:
        """Last setMyCommands params keyed by (scope JSON, language_code)."""
        return self._setup.commands

    @property
    def webhook_url(self) -> str:
        """URL of the webhook the bot set ("" when polling)."""
        return self._webhook.webhook_url

    @property
    def webhook_secret(self) -> str:
        """The secret_token the bot gave setWebhook ("" without one)."""
        return self._webhook.webhook_secret

    def generic(self, params: JsonDict, returns: tuple[str, ...]) -> Any:
        """Any other spec method: checks chat/caption, returns a bare Message or True."""
        return self._sending.generic(params, returns)
