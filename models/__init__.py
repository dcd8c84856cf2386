"""SQLModel tables and the queries on them. Knows nothing of Telegram or the use cases."""

from models.tables import (
    Alert,
    AuditEntry,
    Case,
    Dialogue,
    Group,
    Landmark,
    Officer,
    OutboxMessage,
    Person,
    ScreenKey,
    Sighting,
)

__all__ = [
    "Alert",
    "AuditEntry",
    "Case",
    "Dialogue",
    "Group",
    "Landmark",
    "Officer",
    "OutboxMessage",
    "Person",
    "ScreenKey",
    "Sighting",
]
