"""Updates read lean: a pressed button's update without the message it was pressed on.

Telegram sends every button press with the whole message the button is on. Under an alert
that is the child's photo in four sizes, a caption of some hundred words and its entities, and
python-telegram-bot's ``Message`` sets some 150 attributes however little it holds: for every
press of a crowd, though all the bot reads of that message is who sent it and which buttons
it carries (a press is checked against them: a modified client can send any data, but not
change the message Telegram attaches). Building those objects was a fifth to a quarter of the
bot's CPU for a crowd's burst (the profile of ``benchmarks/crowd.py``).

So the JSON of an update is trimmed before python-telegram-bot reads it: a callback query's
message is reduced to its chat, its id and a date of 0 (Telegram's own form for a message the
bot can no longer see), and what the bot checks of it goes beside the query as ``SHOWN_ON``
(``shown_on`` reads it back). A press's update then takes 0.19 ms to read instead of 0.30
(python-telegram-bot still makes a ``Message`` of the rest).
Messages people send (a report, a sighting, a photo) are untouched. The key is the bot's own,
added after the update came from Telegram: no client can put it there.

An update handled as it is read (a crowd's press, ``searchbot.handlers.presses``) is left as
its id and the bot's own ``HANDLED`` key: the poller confirms it and hands nothing over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Update

SHOWN_ON = "searchbot_shown_on"  # beside a callback query: what its message showed
HANDLED = "searchbot_handled"  # an update handled as it was read: only its id is left


@dataclass(frozen=True)
class ShownOn:
    """What the message a button was pressed on showed: who sent it, and its buttons' data."""

    sender_id: int | None
    buttons: tuple[str, ...]


def trimmed(payload: Any) -> Any:
    """``payload`` (a decoded Bot API response) with the updates of a getUpdates result made
    lean in place; anything else is returned as it came."""
    result = payload.get("result") if isinstance(payload, dict) else None
    if isinstance(result, list):
        for update in result:
            lean(update)
    return payload


def lean(update: Any) -> Any:
    """One decoded update (a webhook's post, say), its callback query's message reduced in
    place; returned for convenience."""
    query = update.get("callback_query") if isinstance(update, dict) else None
    if not isinstance(query, dict):
        return update
    message = query.get("message")
    if not isinstance(message, dict) or not message.get("date"):
        return update  # none, or already inaccessible: nothing to read
    sender = message.get("from")
    query[SHOWN_ON] = {
        "sender_id": sender.get("id") if isinstance(sender, dict) else None,
        "buttons": _callback_data(message.get("reply_markup")),
    }
    query["message"] = {"chat": message.get("chat"), "message_id": message.get("message_id"),
                        "date": 0}  # fmt: skip
    return update


def handled_apart(payload: Any, take: Callable[[dict[str, Any]], bool]) -> Any:
    """``payload`` (a getUpdates result, made lean) with each update that ``take`` handled
    replaced by its id alone, marked ``HANDLED``: the poller confirms it, nothing reads it."""
    result = payload.get("result") if isinstance(payload, dict) else None
    if isinstance(result, list):
        for index, update in enumerate(result):
            if isinstance(update, dict) and take(update):
                result[index] = {"update_id": update.get("update_id"), HANDLED: True}
    return payload


def handled(update: Update) -> bool:
    """Whether the update was handled as it was read (``handled_apart``)."""
    return bool(update.api_kwargs.get(HANDLED))


def shown_on(query: CallbackQuery) -> ShownOn | None:
    """What the pressed button's message showed (None: Telegram sent no message with it)."""
    return shown_in(query.api_kwargs)


def shown_in(query: Mapping[str, Any]) -> ShownOn | None:
    """``shown_on`` for a callback query still in its JSON (made lean)."""
    shown = query.get(SHOWN_ON)
    if not isinstance(shown, dict):
        return None
    sender, buttons = shown.get("sender_id"), shown.get("buttons")
    return ShownOn(
        sender if isinstance(sender, int) else None,
        tuple(b for b in buttons if isinstance(b, str)) if isinstance(buttons, list) else (),
    )


def _callback_data(markup: Any) -> list[str]:
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        return []
    return [
        button["callback_data"]
        for row in rows
        if isinstance(row, list)
        for button in row
        if isinstance(button, dict) and isinstance(button.get("callback_data"), str)
    ]
