"""Payments and Stars: getMyStarBalance, the balance paid broadcasts draw on (``stars.py``)."""

from __future__ import annotations

from .method_base import Files, Handler, JsonDict, MethodFamily

__all__ = ["Payments"]


class Payments(MethodFamily):
    """Methods about the bot's Telegram Stars."""

    def handlers(self) -> dict[str, Handler]:
        """getMyStarBalance."""
        return {"getMyStarBalance": self.get_my_star_balance}

    def get_my_star_balance(self, params: JsonDict, files: Files) -> JsonDict:
        """getMyStarBalance: the bot's balance as a StarAmount."""
        return self.world.star_ledger.star_amount()
