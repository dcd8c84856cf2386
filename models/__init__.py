"""SQLModel tables and the queries on them. Knows nothing of Telegram or the use cases."""

if __name__ != "searchbot.models":
    # models/ is the package searchbot.models (see pyproject.toml). Imported as a top-level
    # `models` (the repository root is on sys.path under pytest) it would load a second time.
    raise ImportError(
        "import searchbot.models, not models: models/ is part of the searchbot package"
    )


from .enums import (
    CaseOutcome,
    CaseStatus,
    FoundReportStatus,
    GroupRole,
    GroupStatus,
    LandmarkKind,
    OutboxStatus,
    SightingSource,
)
from .stations import CaseStation, Station, StationOfficer
from .tables import (
    Alert,
    AlertCheck,
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
    "AlertCheck",
    "AuditEntry",
    "BotState",
    "Case",
    "CaseStation",
    "CaseOutcome",
    "CaseStatus",
    "Dialogue",
    "ExitWatch",
    "FoundReport",
    "FoundReportStatus",
    "Group",
    "GroupRole",
    "GroupStatus",
    "Landmark",
    "LandmarkKind",
    "Officer",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "Playbook",
    "ScreenKey",
    "Sighting",
    "SightingSource",
    "Station",
    "StationOfficer",
    "VolunteerCell",
]
