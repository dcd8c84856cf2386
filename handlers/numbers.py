"""Numbers people type or buttons carry: ASCII digits of a sane length, or nothing.

``int()`` accepts Unicode digits ("³", "٣") and any length; a case number or a Telegram id
that overflows a database column must be a polite "usage" answer, not a crash."""

from __future__ import annotations

import re

_ID = re.compile(r"-?[0-9]{1,15}")


def parse_id(text: str | None) -> int | None:
    """``12``, ``-1001234`` -> int; anything else (``³``, 64 digits, ``abc``) -> None."""
    if text is None or not _ID.fullmatch(text):
        return None
    return int(text)


def case_number(args: list[str]) -> int | None:
    """``12`` or ``#12`` -> 12; cases are positive."""
    number = parse_id(args[0].lstrip("#")) if args else None
    return number if number is not None and number > 0 else None
