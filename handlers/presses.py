"""A crowd's "Checked — not here", handled as its update is read, before python-telegram-bot.

When an alert reaches sixty groups, two hundred people may press its button in the same
second. Through python-telegram-bot each press became an ``Update``, a task, a turn in the
update processor and a ``Bot`` call: most of a press's CPU, and the last presses of a crowd
waited for all the others' (``benchmarks/crowd.py``). What such a press needs is small: who
pressed, in which group, for which case, whether Telegram delivered it from the alert's own
button, and a toast in the presser's language. ``QuickPresses.take`` reads that from the
update's JSON (made lean by ``searchbot.telegram.lean_updates``), counts the press
(``registration.checked_at_once``: the database decides in its next batch) and answers it
without waiting. The poller confirms the update like any other.

Everything else goes the ordinary way, through ``searchbot.handlers.buttons``, unchanged: a
press not from the alert's own button (a modified client's data is judged by the database
before it is answered), a press in an officers' group (its membership is asked of Telegram),
any other button.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from searchbot.cases import registration
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.telegram.lean_updates import shown_in
from searchbot.words.buttons import Checked, decode
from searchbot.words.texts import language_of

log = logging.getLogger(__name__)

GROUPS = ("group", "supergroup")
REMEMBERED = 4096  # update ids handled here, kept to skip them when a poll brings them again

Answer = Callable[[dict[str, Any]], None]  # answerCallbackQuery's parameters, sent blind


class QuickPresses:
    """Takes the presses it can handle from the updates as they are read."""

    def __init__(self, services: Services, bot_id: int, answer: Answer) -> None:
        self._services, self._bot_id, self._answer = services, bot_id, answer
        self._taken: set[int] = set()
        self._order: deque[int] = deque()

    def take(self, update: dict[str, Any]) -> bool:
        """Handle ``update`` if it is such a press; True if it was handled, now or when an
        earlier poll brought it (a poll asks again from the oldest update not yet done).
        Never raises: it runs while a poll's answer is read (or a webhook's post), and a
        failure there would stop every update; a press it fails on goes the ordinary way."""
        try:
            return self._take(update)
        except Exception:
            log.exception("a press could not be taken as it was read; handled the ordinary way")
            return False

    def _take(self, update: dict[str, Any]) -> bool:
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            return False
        if update_id in self._taken:
            return True
        press = _press_of(update, self._bot_id, self._services.settings.language)
        if press is None:
            return False
        query_id, actor, case_id = press
        if actor.chat_id in self._services.officers.book.current.officer_chat_ids:
            return False  # an officer's press there is checked against Telegram's members
        answer = registration.checked_at_once(self._services, actor, case_id)
        self._answer({"callback_query_id": query_id, "text": (answer.toast or "")[:200]})
        self._remember(update_id)
        return True

    def _remember(self, update_id: int) -> None:
        self._taken.add(update_id)
        self._order.append(update_id)
        if len(self._order) > REMEMBERED:
            self._taken.discard(self._order.popleft())


def _press_of(update: dict[str, Any], bot_id: int, default: str) -> tuple[str, Actor, int] | None:
    """The query's id, who pressed where, and the case: for a "Checked" pressed in a group on
    a message of this bot that carries that very button; else None."""
    query = update.get("callback_query")
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return None
    data = query.get("data")
    action = decode(data) if isinstance(data, str) else None
    shown = shown_in(query)
    if not isinstance(action, Checked) or shown is None:
        return None
    if shown.sender_id != bot_id or data not in shown.buttons:
        return None
    user, message = query.get("from"), query.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    if not isinstance(user, dict) or not isinstance(chat, dict) or chat.get("type") not in GROUPS:
        return None
    user_id, chat_id = user.get("id"), chat.get("id")
    if not isinstance(user_id, int) or not isinstance(chat_id, int):
        return None
    name = " ".join(str(user[key]) for key in ("first_name", "last_name") if user.get(key))
    code = user.get("language_code")
    language = language_of(code if isinstance(code, str) else None, default)
    return query["id"], Actor(user_id, chat_id, name, language), action.case_id


__all__ = ["QuickPresses"]
