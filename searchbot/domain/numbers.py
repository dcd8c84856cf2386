"""Numbers people type or buttons carry: ASCII digits of a sane length, or nothing.

``int()`` accepts Unicode digits ("³", "٣") and any length; a case number or a Telegram id
that overflows a database column must be a polite "usage" answer (or a stale button), not a
crash. The commands' arguments and the buttons' data are read by these same rules."""

from __future__ import annotations

import re

_ID = re.compile(r"-?[0-9]{1,15}")
RECORD_ID_MAX = 2**31 - 1  # cases, sightings, reports, landmarks: INTEGER ids on PostgreSQL


def parse_id(text: str | None) -> int | None:
    """``12``, ``-1001234`` -> int; anything else (``³``, 64 digits, ``abc``) -> None."""
    if text is None or not _ID.fullmatch(text):
        return None
    return int(text)


def record_id(text: str | None) -> int | None:
    """The id of a row (a case, a sighting...): positive and within the column's range."""
    number = parse_id(text)
    return number if number is not None and 0 < number <= RECORD_ID_MAX else None


def chat_id(text: str | None) -> int | None:
    """A Telegram chat id (a BIGINT: groups are negative, and may be past 2**31); not 0."""
    return parse_id(text) or None


def case_number(args: list[str]) -> int | None:
    """``12`` or ``#12`` -> 12."""
    return record_id(args[0].lstrip("#")) if args else None
