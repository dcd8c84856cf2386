"""Telegram Mini App init data: check the signature, then read the user.

Telegram signs init data with a key derived from the bot token
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-web-app). aiogram's
``safe_parse_webapp_init_data`` checks it: the one job aiogram has here (python-telegram-bot runs
the bot). Importing aiogram builds its whole type library (about 2.7 s of CPU on a quiet
machine), so the command room imports it once, in a thread, when it first checks init data
(``load``): never at the start of a bot, never in a process whose command room nobody opens,
and never on the event loop that sends alerts. The first officer to open the map after a start
waits for it once.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_CHECKER = "aiogram.utils.web_app"
_checker: Callable[..., Any] | None = None
_importing = threading.Lock()


@dataclass(frozen=True)
class InitUser:
    """The person who opened the Mini App, as Telegram signed it."""

    id: int
    first_name: str
    last_name: str | None
    language_code: str | None


@dataclass(frozen=True)
class InitData:
    """What we use of a signed init data string."""

    user: InitUser | None
    auth_date: datetime


def _import_checker() -> Callable[..., Any]:
    global _checker
    with _importing:  # one import, whichever thread or event loop asks first
        if _checker is None:
            _checker = importlib.import_module(_CHECKER).safe_parse_webapp_init_data
        return _checker


async def load() -> Callable[..., Any]:
    """The checker, imported in a thread the first time it is needed."""
    loaded = _checker
    return loaded if loaded is not None else await asyncio.to_thread(_import_checker)


async def verified(token: str, init_data: str) -> InitData:
    """The init data if Telegram signed it with this token; ValueError if not, or if garbled."""
    if not token:
        raise ValueError("no bot token to check init data against")
    check = await load()
    parsed = check(token, init_data)  # ValueError (pydantic's too) when unsigned or garbled
    user = parsed.user
    auth_date = parsed.auth_date
    if auth_date.tzinfo is None:
        auth_date = auth_date.replace(tzinfo=UTC)
    if user is None:
        return InitData(user=None, auth_date=auth_date)
    return InitData(
        user=InitUser(
            id=int(user.id),
            first_name=str(user.first_name or ""),
            last_name=user.last_name,
            language_code=user.language_code,
        ),
        auth_date=auth_date,
    )
