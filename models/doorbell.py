"""The outbox dispatcher's doorbell: how the rest of the bot tells it there is work.

It exists before the dispatcher does (the sessions' commit hook and the services are built
first, the dispatcher only once the bot knows its Telegram connection), so each piece gets it at
construction and the dispatcher answers it from its start to its stop. Until then a ring is
nothing lost: a starting dispatcher reads every pending row anyway.
"""

from __future__ import annotations

from typing import Protocol


class Listener(Protocol):
    """What answers the doorbell (the running dispatcher)."""

    def wake(self) -> None: ...

    def note_direct_send(self, chat_id: int) -> None: ...


class Doorbell:
    """Wakes the dispatcher when outbox rows were committed, and tells it of the messages
    handlers sent directly (they count against Telegram's limits too)."""

    def __init__(self) -> None:
        self._listener: Listener | None = None

    def ring(self) -> None:
        """New outbox rows are committed: the dispatcher looks again now."""
        if self._listener is not None:
            self._listener.wake()

    def note_direct_send(self, chat_id: int) -> None:
        """A handler answered ``chat_id`` directly, outside the outbox."""
        if self._listener is not None:
            self._listener.note_direct_send(chat_id)

    def answer(self, listener: Listener) -> None:
        """From now on ``listener`` hears the doorbell (the dispatcher, when it starts)."""
        self._listener = listener

    def release(self, listener: Listener) -> None:
        """``listener`` stops hearing it (the dispatcher, when it stops)."""
        if self._listener is listener:
            self._listener = None
