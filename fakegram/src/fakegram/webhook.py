"""The webhook and the bot's session: setWebhook, deleteWebhook, getWebhookInfo, logOut, close.

While a webhook is set, getUpdates answers 409 and the server's pusher POSTs each update to the
URL (see ``server.py``), as Telegram does.
"""

from __future__ import annotations

from .method_base import Files, Handler, JsonDict, MethodFamily
from .world import World

__all__ = ["Webhook"]


class Webhook(MethodFamily):
    """The webhook URL and secret the bot set ("" while it polls)."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.webhook_url = ""
        self.webhook_secret = ""

    def handlers(self) -> dict[str, Handler]:
        """*Webhook*, logOut, close."""
        return {
            "logOut": _true,
            "close": _true,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
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


def _true(params: JsonDict, files: Files) -> bool:
    """Methods that simply succeed."""
    return True
