"""What can go wrong with one message, in the dispatcher's terms: the transport
(``searchbot.telegram.transport.classify``) turns each Bot API failure into one of these, and the
dispatcher decides what to do about it (wait, move the group, give up, tell the officers)."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base of what can go wrong with one message."""


class Throttled(DeliveryError):
    """429: this chat must wait ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Gone(DeliveryError):
    """403: the bot was removed from the group or blocked by the person."""


class Moved(DeliveryError):
    """The group became a supergroup with another id."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Transient(DeliveryError):
    """Timeouts, 5xx, connection trouble: worth trying again later."""


class Rejected(DeliveryError):
    """400 and the like: sending the same again will not help."""


class Stuck(Rejected):
    """Telegram would neither delete an alert nor let its photo be replaced: it still shows."""


class Unpaid(DeliveryError):
    """A paid broadcast the bot's Stars could not pay for (400 BALANCE_TOO_LOW): the message
    is not lost, it goes again at the free rate."""
