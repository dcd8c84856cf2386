"""SQLModel tables and the queries on them. Knows nothing of Telegram or the use cases."""

from models.tables import (
    Alert,
    AlertCheck,
    AuditEntry,
    Case,
    Dialogue,
    Group,
    Landmark,
    Officer,
    OutboxMessage,
    Person,
    Sighting,
)

__all__ = [
    "Alert",
    "AlertCheck",
    "AuditEntry",
    "Case",
    "Dialogue",
    "Group",
    "Landmark",
    "Officer",
    "OutboxMessage",
    "Person",
    "Sighting",
]
