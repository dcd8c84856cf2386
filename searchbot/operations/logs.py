"""Logs without personal data, even at DEBUG.

Our own log lines name cases, stages, outbox rows and group chats — never a name, a phone, a
description, a file id, a typed place, nor the Telegram id of a family or a sighter (a private
chat is logged as ``private``). Libraries are less careful at DEBUG: python-telegram-bot logs
every call's parameters and every update, aiosqlite every statement with its values, SQLAlchemy
every result row. A log record factory hides the values those libraries pass along (numbers
stay, so a status code or a row count still reads); the SQL statements' own parameters are
hidden by the engines (``hide_parameters``, see ``db.create_engine``). Warnings and errors keep
their values: they carry error messages, which the hidden parameters keep free of data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

OWN = ("searchbot", "handlers", "models", "__main__")  # loggers whose lines we write ourselves


class Hidden(int):
    """Stands in for a hidden value; an int, so a ``%d`` in the message still formats."""

    def __str__(self) -> str:
        return "<hidden>"

    __repr__ = __str__


HIDDEN = Hidden(0)


def _shown(value: object) -> object:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return HIDDEN


def _is_own(name: str) -> bool:
    return name == "root" or name.split(".", 1)[0] in OWN


def hide_library_values(
    record: logging.LogRecord,
) -> logging.LogRecord:
    """Hide the non-numeric arguments of a library's DEBUG or INFO line."""
    if record.levelno >= logging.WARNING or _is_own(record.name) or not record.args:
        return record
    args = record.args
    if isinstance(args, Mapping):
        record.args = {key: _shown(value) for key, value in args.items()}
    else:
        record.args = tuple(_shown(value) for value in args)
    return record


_installed: list[Any] = []


def install() -> None:
    """Wrap the log record factory once per process (idempotent)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return hide_library_values(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed.append(factory)


def chat(chat_id: int) -> int | str:
    """A chat as our logs may name it: groups by id; a private chat is a person, unnamed."""
    return chat_id if chat_id < 0 else "private"
