"""The closed sets of values the tables keep in their status-like columns.

Each value is the very string the database has always stored (``StrEnum``), so the schema and
the data stay as they are: a member compares equal to its string, formats as it, and is
written as it. Columns declared with :class:`EnumText` hand rows back as members, so code that
reads a row gets the typed value, not a bare string.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..domain.outcomes import CaseOutcome as CaseOutcome


class CaseStatus(StrEnum):
    """Whether a case is being searched for."""

    OPEN = "open"
    CLOSED = "closed"


class GroupRole(StrEnum):
    """What a registered group does in a search (its alert's job depends on it)."""

    MERCHANT = "merchant"
    GUARD = "guard"
    VOLUNTEER = "volunteer"


class GroupStatus(StrEnum):
    """Where a group's registration stands: locating -> pending -> approved | rejected;
    inactive once the bot was removed from it (or it unregistered)."""

    LOCATING = "locating"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    INACTIVE = "inactive"


class FoundReportStatus(StrEnum):
    """A found-child report: open until matched to a case or closed."""

    OPEN = "open"
    MATCHED = "matched"
    CLOSED = "closed"


class OutboxStatus(StrEnum):
    """An outbox row: pending -> sending -> sent | dead | cancelled; held: a retraction
    waiting for the bot to be added back to its group."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    CANCELLED = "cancelled"
    HELD = "held"


class SightingSource(StrEnum):
    """How a sighting reached the bot: a reply to an alert in a group, the alert's "I saw
    them" deep link, or ``/seen`` in private."""

    REPLY = "reply"
    DEEPLINK = "deeplink"
    COMMAND = "command"


class LandmarkKind(StrEnum):
    """What a landmark is; exits (and entrances, metro, parking) drive the guards' jobs, water
    marks the spots a search must not miss."""

    EXIT = "exit"
    ENTRANCE = "entrance"
    METRO = "metro"
    PARKING = "parking"
    WATER = "water"


class EnumText(TypeDecorator[StrEnum]):
    """A ``VARCHAR(length)`` holding a ``StrEnum``'s values: written as the plain string, read
    back as the member. A value the enum does not know (written by a newer version) is handed
    back as the plain string rather than failing the whole query."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            return value
