"""Paid broadcast's rules, with no I/O: which alerts of a ring are worth paying for, what the
Stars buy, and what they cost.

Telegram lets a bot send up to 1,000 messages a second with ``allow_paid_broadcast``, for 0.1
Star a message, as long as its balance keeps 10,000 Stars after paying (the Bot API's "Paid
Broadcasts"). A station chooses the most one case may spend. A ring the free rate sends within
``FREE_SECONDS`` is not worth a Star: only a wider one goes paid, nearest groups first, as far
as the case's budget reaches; the rest of it goes free.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal

PAID_PER_SECOND = 1000  # Telegram's overall limit for paid broadcasts
FREE_SECONDS = 10.0  # a ring the free rate sends within this long goes free
STARS_PER_MESSAGE = Decimal("0.1")  # what Telegram takes for each paid message delivered
MINIMUM_BALANCE = Decimal(10_000)  # Stars a bot must keep to use paid broadcasts at all
NANOSTARS_PER_STAR = 10**9  # StarAmount's unit of the fraction of a Star


def messages_for(stars: Decimal) -> int:
    """Paid messages ``stars`` pay for (whole messages: a part of one is not a message)."""
    if stars <= 0:
        return 0
    return int((stars / STARS_PER_MESSAGE).to_integral_value(rounding=ROUND_FLOOR))


def cost_of(messages: int) -> Decimal:
    """Stars ``messages`` paid messages cost."""
    return STARS_PER_MESSAGE * messages


def affordable(balance: Decimal) -> int:
    """Paid messages a balance pays for while keeping Telegram's minimum."""
    return messages_for(balance - MINIMUM_BALANCE)


def paid_share(ring: int, free_per_second: float, budget_left: int) -> int:
    """How many of a ring's ``ring`` alerts (nearest first) go paid: none when the free rate
    sends the whole ring within ``FREE_SECONDS``, else as many as the case's budget still
    pays for."""
    if budget_left <= 0 or ring <= math.floor(FREE_SECONDS * free_per_second):
        return 0
    return min(ring, budget_left)


def stars_of(amount: int, nanostar_amount: int = 0) -> Decimal:
    """A StarAmount (whole Stars, and the fraction in nanostars) as Stars."""
    return Decimal(amount) + Decimal(nanostar_amount) / NANOSTARS_PER_STAR


def stars_text(stars: Decimal) -> str:
    """Stars as people read them: ``470``, ``0.3``, ``12,345.6`` (no trailing zeros)."""
    whole = stars.quantize(Decimal("0.1"))
    if whole == whole.to_integral_value():
        return f"{int(whole):,}"
    return f"{whole:,.1f}"
