"""SQLModel tables and the queries on them. Knows nothing of Telegram or the use cases."""

from models.tables import (
    Alert,
    AuditEntry,
    BotState,
    Case,
    Dialogue,
    ExitWatch,
    FoundReport,
    Group,
    Landmark,
    Officer,
    OutboxMessage,
    Person,
    Playbook,
    ScreenKey,
    Sighting,
    VolunteerCell,
)

__all__ = [
    "Alert",
    "AuditEntry",
    "BotState",
    "Case",
    "Dialogue",
    "ExitWatch",
    "FoundReport",
    "Group",
    "Landmark",
    "Officer",
    "OutboxMessage",
    "Person",
    "Playbook",
    "ScreenKey",
    "Sighting",
    "VolunteerCell",
]
