"""The database tables.

Every timer (the next escalation stage, an outbox row's next attempt) is a column here, so a
restart resumes exactly where the process stopped. Times are aware UTC datetimes (SQLModel's
``UTCDateTime``: ``timestamptz`` on PostgreSQL, UTC without offset in SQLite).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from .enums import (
    CaseOutcome,
    CaseStatus,
    EnumText,
    FoundReportStatus,
    GroupRole,
    GroupStatus,
    LandmarkKind,
    OutboxStatus,
    SightingSource,
)


def _bigint(**kwargs: Any) -> Any:
    """A BIGINT column: Telegram chat and user ids do not fit in 32 bits."""
    return Field(sa_column=Column(BigInteger, **kwargs))


class Case(SQLModel, table=True):
    """A missing person: what the family reported and where the search stands."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_due", "status", "next_stage_at"),)

    id: int | None = Field(default=None, primary_key=True)
    status: CaseStatus = Field(
        default=CaseStatus.OPEN, sa_column=Column(EnumText(CaseStatus), nullable=False)
    )
    outcome: CaseOutcome | None = Field(default=None, sa_column=Column(EnumText(CaseOutcome)))
    reporter_user_id: int = _bigint(nullable=False, index=True)
    reporter_chat_id: int = _bigint(nullable=False)
    language: str = Field(default="zh", max_length=8)
    name: str | None = Field(default=None, max_length=128)
    age: int | None = None
    sex: str | None = Field(default=None, max_length=16)
    description: str | None = Field(default=None, max_length=2000)
    photo_file_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    place_text: str | None = Field(default=None, max_length=512)
    lat: float
    lon: float
    center_lat: float
    center_lon: float
    last_seen_at: datetime
    contact: str | None = Field(default=None, max_length=64)
    created_at: datetime
    verified_at: datetime | None = None
    verified_by: int | None = _bigint(nullable=True)
    stage: int = -1  # index of the last stage that went out
    next_stage_at: datetime | None = None
    reminded_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: int | None = _bigint(nullable=True)
    close_note: str | None = Field(default=None, max_length=512)
    purged_at: datetime | None = None  # personal data removed after the retention period
    # when the officers are told which first-ring exits nobody watches (claimed once, then None)
    exits_due_at: datetime | None = None
    # alerts delivered with paid broadcast (0.1 Star each): what the search cost, kept after
    # retention has deleted its outbox rows
    paid_messages: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # the owning station (None: the default station the settings make)
    station_id: int | None = Field(default=None, index=True)


# Covering indexes for ring selection: cell, then status and position, then what an alert
# needs, so selecting thousands of groups never touches the table itself.
_RING_COLUMNS = ("status", "lat", "lon", "id", "chat_id", "language", "role")


class Group(SQLModel, table=True):
    """A merchant, guard or volunteer group chat registered at a location."""

    __tablename__ = "groups"
    __table_args__ = (
        Index("ix_groups_ring_fine", "cell_fine", *_RING_COLUMNS),
        Index("ix_groups_ring_coarse", "cell_coarse", *_RING_COLUMNS),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = _bigint(nullable=False, unique=True)
    title: str = Field(default="", max_length=256)
    role: GroupRole = Field(sa_column=Column(EnumText(GroupRole), nullable=False))
    status: GroupStatus = Field(
        default=GroupStatus.LOCATING, sa_column=Column(EnumText(GroupStatus), nullable=False)
    )
    lat: float | None = None
    lon: float | None = None
    cell_fine: str | None = Field(default=None, max_length=16)
    cell_coarse: str | None = Field(default=None, max_length=16)
    language: str = Field(default="zh", max_length=8)
    registered_by: int = _bigint(nullable=False)
    prompt_message_id: int | None = None
    decided_by: int | None = _bigint(nullable=True)
    created_at: datetime
    decided_at: datetime | None = None
    cooldown_until: datetime | None = None  # no new request before (after /unregister, reject)
    # the station whose area holds the group's place (None: the default station)
    station_id: int | None = Field(default=None, index=True)


class Alert(SQLModel, table=True):
    """One group alerted for one case: the unique key makes a second alert impossible."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("case_id", "group_id", name="uq_alert_case_group"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    stage: int
    distance_m: float
    created_at: datetime
    checked_at: datetime | None = None
    checked_by: int | None = _bigint(nullable=True)
    # the "I saw them" deep link of this alert: random, so no case number can be guessed
    token: str | None = Field(default=None, max_length=32, unique=True)


class AlertCheck(SQLModel, table=True):
    """One member's "Checked — not here" on one alert: the primary key counts a person once
    however often they press; ``presses`` says how often they did.

    The first member's check also marks the alert itself (``Alert.checked_at``, the group's
    figure): a database trigger does it in the same statement (migration 0015), so a press is
    one statement however many rows it touches.
    """

    __tablename__ = "alert_checks"

    alert_id: int = Field(foreign_key="alerts.id", primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    case_id: int = Field(index=True)  # copied from the alert: a press names case and chat
    chat_id: int = _bigint(nullable=False)
    first_at: datetime
    presses: int = 1


class Sighting(SQLModel, table=True):
    """Somebody saw the missing person (or thinks so)."""

    __tablename__ = "sightings"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    reporter_user_id: int = _bigint(nullable=False)
    reporter_name: str | None = Field(default=None, max_length=128)
    contact: str | None = Field(default=None, max_length=64)  # officers only, to call back
    group_chat_id: int | None = _bigint(nullable=True)
    source: SightingSource = Field(sa_column=Column(EnumText(SightingSource), nullable=False))
    lat: float | None = None
    lon: float | None = None
    place_text: str | None = Field(default=None, max_length=512)
    photo_file_id: str | None = Field(default=None, max_length=256)
    note: str | None = Field(default=None, max_length=2000)
    seen_at: datetime
    created_at: datetime
    credible: bool | None = None
    judged_by: int | None = _bigint(nullable=True)
    # when the family got it in full (None: officers only so far)
    shared_at: datetime | None = None


class OutboxMessage(SQLModel, table=True):
    """A message waiting to be sent, being sent, or sent (then it keeps its message_id).

    ``lane`` orders traffic (``searchbot.models.outbox.Lane``: people, retractions, group alerts,
    counters); within a lane ``rank`` (the distance for alerts) and then ``id`` decide.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "lane", "rank", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, index=True)
    # a found child's report the message tells of: the officers' card and pin, the family's
    # place after a match; they are deleted with the report when it is forgotten
    found_id: int | None = Field(default=None, index=True)
    chat_id: int = _bigint(nullable=False, index=True)
    kind: str = Field(max_length=24)
    lane: int = 0
    rank: float = 0.0
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str | None = Field(default=None, max_length=128, unique=True)
    status: OutboxStatus = Field(
        default=OutboxStatus.PENDING, sa_column=Column(EnumText(OutboxStatus), nullable=False)
    )
    attempts: int = 0
    next_attempt_at: datetime
    message_id: int | None = None
    last_error: str | None = Field(default=None, max_length=512)
    created_at: datetime
    sent_at: datetime | None = None
    # sent with allow_paid_broadcast (searchbot/domain/broadcast.py): a ring too wide for the
    # free rate, within its case's budget; cleared when the Stars cannot pay for it
    paid: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Officer(SQLModel, table=True):
    """A police officer appointed by an admin."""

    __tablename__ = "officers"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    added_by: int = _bigint(nullable=False)
    added_at: datetime
    active: bool = True


class Person(SQLModel, table=True):
    """Somebody who talked to the bot in private: where to reach them and in which language."""

    __tablename__ = "people"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    first_name: str = Field(default="", max_length=128)
    username: str | None = Field(default=None, max_length=64)
    language: str = Field(default="zh", max_length=8)
    reachable: bool = True
    blocked: bool = False
    updated_at: datetime


class Dialogue(SQLModel, table=True):
    """A private dialogue in progress (report, sighting): kept in the database so a restart
    does not make a family start over."""

    __tablename__ = "dialogues"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=16)
    step: str = Field(max_length=24)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class Landmark(SQLModel, table=True):
    """A named place of the station's area (a mall entrance, a gate) with its aliases."""

    __tablename__ = "landmarks"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=256, unique=True)
    aliases: str = Field(default="", max_length=1024)  # '|'-separated
    lat: float
    lon: float
    kind: LandmarkKind | None = Field(default=None, sa_column=Column(EnumText(LandmarkKind)))


class AuditEntry(SQLModel, table=True):
    """Who did what, when: every state change of a case, group or officer."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor_user_id: int | None = _bigint(nullable=True)
    action: str = Field(max_length=32)
    case_id: int | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class BotState(SQLModel, table=True):
    """Small facts the bot learns once and keeps (the placeholder picture's file id)."""

    __tablename__ = "bot_state"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=512)
    updated_at: datetime


class FoundReport(SQLModel, table=True):
    """A child found alone, reported by whoever is with them: officers only see all of it."""

    __tablename__ = "found_reports"
    __table_args__ = (Index("ix_found_reports_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    status: FoundReportStatus = Field(
        default=FoundReportStatus.OPEN,
        sa_column=Column(EnumText(FoundReportStatus), nullable=False),
    )
    reporter_user_id: int = _bigint(nullable=False)
    reporter_chat_id: int = _bigint(nullable=False)
    reporter_name: str | None = Field(default=None, max_length=128)
    group_chat_id: int | None = _bigint(nullable=True)  # the group whose button started it
    language: str = Field(default="zh", max_length=8)
    age: int | None = None
    sex: str | None = Field(default=None, max_length=16)
    description: str | None = Field(default=None, max_length=2000)
    photo_file_id: str | None = Field(default=None, max_length=256)  # officers only
    place_text: str | None = Field(default=None, max_length=512)
    lat: float
    lon: float
    with_whom: str | None = Field(default=None, max_length=256)
    contact: str | None = Field(default=None, max_length=64)
    created_at: datetime
    matched_case_id: int | None = Field(default=None, index=True)
    matched_at: datetime | None = None
    matched_by: int | None = _bigint(nullable=True)
    checklist: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed_at: datetime | None = None


class ExitWatch(SQLModel, table=True):
    """A guard group watches one exit for one case: the first press counts."""

    __tablename__ = "exit_watches"
    __table_args__ = (UniqueConstraint("case_id", "landmark_id", name="uq_exit_watch"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    landmark_id: int
    group_chat_id: int = _bigint(nullable=False)
    user_id: int = _bigint(nullable=False)
    at: datetime


class Playbook(SQLModel, table=True):
    """The station's own wording of one role's job, in one language (defaults: the catalogs)."""

    __tablename__ = "playbooks"
    __table_args__ = (UniqueConstraint("role", "language", name="uq_playbook_role_language"),)

    id: int | None = Field(default=None, primary_key=True)
    role: GroupRole = Field(sa_column=Column(EnumText(GroupRole), nullable=False))
    language: str = Field(max_length=8)
    text: str = Field(max_length=600)


class VolunteerCell(SQLModel, table=True):
    """A blind-spot cell given to a volunteer group for a case; ``first`` cells are never
    shared, so two groups do not start walking the same block."""

    __tablename__ = "volunteer_cells"
    __table_args__ = (Index("ix_volunteer_cells_case", "case_id", "first"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int
    group_id: int
    cell: str = Field(max_length=16)
    first: bool = False


class ScreenKey(SQLModel, table=True):
    """The generation of the command room's read-only screen links (one row). ``/screen
    revoke`` bumps it: every link given before stops working. Links are signed with a key
    derived from the bot's token and the generation (``searchbot.web.auth``), so that a forged
    one is refused before the database is read; ``secret`` no longer signs anything (it is
    still replaced at each revoke, and kept so that the schema needs no change)."""

    __tablename__ = "screen_keys"

    id: int | None = Field(default=None, primary_key=True)
    secret: str = Field(max_length=64)
    generation: int = 1
    rotated_at: datetime
    rotated_by: int | None = _bigint(nullable=True)
