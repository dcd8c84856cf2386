"""The bot's Telegram Stars, and what paid broadcasts cost.

What Telegram documents, and what the fake makes of it:

- ``allow_paid_broadcast`` on sendMessage and the other send methods (21 in Bot API 10.1, see
  ``bot-api-10.1.json``): "Pass True to allow up to 1000 messages per second, ignoring
  broadcasting limits for a fee of 0.1 Telegram Stars per message. The relevant Stars will be
  withdrawn from the bot's balance."  The 1000 a second is ``Limits.paid_per_second``
  (``limits.py``).
- The Bot API's "Paid Broadcasts" section (https://core.telegram.org/bots/api#paid-broadcasts):
  "Each message broadcasted over the free amount of 30 messages per second incurs a cost of
  0.1 Stars per message, paid with Telegram Stars from the bot's balance. In order to use this
  feature, a bot must have at least 10,000 Stars on its balance." and "Bots with increased
  limits are only charged for messages that are broadcasted successfully."
- The Bots FAQ (https://core.telegram.org/bots/faq#how-can-i-message-all-of-my-bot-39s-subscribers-at-once)
  asks for 100,000 Stars and 100,000 monthly active users to switch the feature on in
  @BotFather; the fake has no BotFather and no monthly users, so that gate is not modelled.
- getMyStarBalance returns a StarAmount: ``amount`` (whole Stars, rounded towards 0) and the
  optional ``nanostar_amount`` (1/1,000,000,000 shares).

So, never kinder than Telegram:

- every paid send is charged 0.1 Star a message (the parameter's wording), not only those over
  the free 30 a second (the section's): the Stars the fake takes are an upper bound of
  Telegram's bill, at most 3 Stars a second more;
- only a send that went through is charged; an album (sendMediaGroup) pays for each message;
- a paid send is refused unless the balance, once paid, still holds the minimum (10,000 Stars;
  settable, 0 leaves only "the balance must cover it"). Telegram does not document its answer;
  the fake gives the one it gives a Star-spending method (sendGift) on a short balance, 400
  "Bad Request: BALANCE_TOO_LOW", the most plausible.

The balance is kept in whole nanostars, so a tenth of a Star a message never drifts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .errors import ApiError

__all__ = [
    "NANOSTARS_PER_STAR",
    "PAID_BROADCAST_MINIMUM",
    "PAID_MESSAGE_NANOSTARS",
    "StarLedger",
    "StarsValue",
    "star_amount",
    "to_nanostars",
]

JsonDict = dict[str, Any]
StarsValue = int | float | str | Decimal

NANOSTARS_PER_STAR = 10**9
PAID_MESSAGE_NANOSTARS = NANOSTARS_PER_STAR // 10  # 0.1 Star a message
PAID_BROADCAST_MINIMUM = 10_000  # Stars the balance must keep (the Bot API's figure)


def to_nanostars(stars: StarsValue) -> int:
    """Stars (``5``, ``0.1``, ``"12.5"``, a Decimal) as whole nanostars; a float by its shortest
    decimal form, so ``0.1`` is exactly 100,000,000."""
    exact = Decimal(repr(stars)) if isinstance(stars, float) else Decimal(stars)
    nano = exact * NANOSTARS_PER_STAR
    if nano != nano.to_integral_value():
        raise ValueError(f"{stars!r} Stars is not a whole number of nanostars")
    return int(nano)


def star_amount(nanostars: int) -> JsonDict:
    """The StarAmount object: whole Stars rounded towards 0, the rest in nanostars (left out
    when 0), both negative for a negative balance."""
    sign = -1 if nanostars < 0 else 1
    whole, part = divmod(abs(nanostars), NANOSTARS_PER_STAR)
    amount: JsonDict = {"amount": sign * whole}
    if part:
        amount["nanostar_amount"] = sign * part
    return amount


class StarLedger:
    """The bot's Stars balance, what getMyStarBalance reads and paid broadcasts draw on.

    ``stars`` and ``minimum`` read as floats (exact to the nanostar for any balance under nine
    million Stars) and take any :data:`StarsValue`; ``*_nanostars`` are the exact integers.
    """

    def __init__(self, stars: StarsValue = 0, minimum: StarsValue = PAID_BROADCAST_MINIMUM):
        self.balance_nanostars = to_nanostars(stars)
        self.minimum_nanostars = to_nanostars(minimum)
        self.spent_nanostars = 0
        self.paid_messages = 0

    @property
    def stars(self) -> float:
        """The balance in Stars."""
        return self.balance_nanostars / NANOSTARS_PER_STAR

    @stars.setter
    def stars(self, value: StarsValue) -> None:
        self.balance_nanostars = to_nanostars(value)

    @property
    def minimum(self) -> float:
        """Stars a paid send must leave on the balance (Telegram: 10,000)."""
        return self.minimum_nanostars / NANOSTARS_PER_STAR

    @minimum.setter
    def minimum(self, value: StarsValue) -> None:
        self.minimum_nanostars = to_nanostars(value)

    @property
    def spent(self) -> float:
        """Stars paid broadcasts took so far."""
        return self.spent_nanostars / NANOSTARS_PER_STAR

    def require(self, messages: int) -> None:
        """Refuse a paid send of ``messages`` the balance cannot pay and still keep the minimum."""
        cost = messages * PAID_MESSAGE_NANOSTARS
        if self.balance_nanostars - cost < self.minimum_nanostars:
            raise ApiError.bad_request("BALANCE_TOO_LOW")

    def charge(self, messages: int) -> None:
        """Withdraw 0.1 Star for each of ``messages`` sent with allow_paid_broadcast."""
        cost = messages * PAID_MESSAGE_NANOSTARS
        self.balance_nanostars -= cost
        self.spent_nanostars += cost
        self.paid_messages += messages

    def star_amount(self) -> JsonDict:
        """The balance as getMyStarBalance answers it."""
        return star_amount(self.balance_nanostars)
