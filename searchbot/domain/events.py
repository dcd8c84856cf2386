"""What happened: the facts a use case reports once it has changed the model.

A use case decides (checks permissions, changes rows) and then publishes these events;
``searchbot.telling.notify`` alone turns each into who hears what. Events hold ids and plain values
only (no Telegram, no rows), so they say the same thing whoever reads them, and the README's
"What each person sees" table can name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from searchbot.domain.grid import GroupPoint
from searchbot.domain.outcomes import CaseOutcome


@dataclass(frozen=True)
class CaseOpened:
    """A family confirmed its report: the case exists (its first ring is GroupsAlerted)."""

    case_id: int
    reporter_user_id: int
    reporter_name: str


@dataclass(frozen=True)
class GroupsAlerted:
    """Groups joined a case's search: a stage fired, an officer widened it, or a credible
    sighting re-centred it (``seen_sighting_id``: the alert then says "seen here").
    ``targets`` are (distance in metres, group) nearest first; ``tokens`` their deep links."""

    case_id: int
    radius_m: float
    targets: tuple[tuple[float, GroupPoint], ...]
    tokens: tuple[str, ...]
    seen_sighting_id: int | None = None


@dataclass(frozen=True)
class StageReached:
    """A stage fell due and fired on schedule, alerting ``groups`` more groups."""

    case_id: int
    stage: int
    groups: int


@dataclass(frozen=True)
class ExitsUnwatched:
    """The first ring's ways out that no guard group said it watches, ``minutes`` after the
    report."""

    case_id: int
    exits: tuple[str, ...]
    minutes: int


@dataclass(frozen=True)
class CaseVerified:
    """An officer vouched for the case: the family is who they say."""

    case_id: int
    by_name: str


@dataclass(frozen=True)
class SightingRecorded:
    """Someone reported seeing the missing person (from an alerted group, or ``/seen N``)."""

    sighting_id: int


@dataclass(frozen=True)
class SightingJudged:
    """An officer marked a sighting credible (re-centring on it: ``alerted`` new groups) or
    not credible."""

    sighting_id: int
    credible: bool
    by_name: str
    alerted: int


@dataclass(frozen=True)
class CloseRequested:
    """The family asked to close a case no officer has verified: an officer must confirm."""

    case_id: int
    outcome: CaseOutcome
    note: str | None


@dataclass(frozen=True)
class CaseClosed:
    """The case is closed: the search stops and its alerts leave the groups."""

    case_id: int
    outcome: CaseOutcome
    note: str | None
    by: str


@dataclass(frozen=True)
class AlertOutlivedCase:
    """An alert reached its group after its case closed (it was in flight at the closing)."""

    case_id: int
    outbox_id: int


@dataclass(frozen=True)
class GroupRegistered:
    """A group sent its location: its request waits for an officer."""

    chat_id: int


@dataclass(frozen=True)
class GroupDecided:
    """An officer approved or rejected a group's request."""

    chat_id: int
    approved: bool


@dataclass(frozen=True)
class GroupUnregistered:
    """A group left the network itself (``was_pending``: its request was still waiting)."""

    chat_id: int
    was_pending: bool


@dataclass(frozen=True)
class RecipientGone:
    """The bot was removed from a group or blocked by a person; ``group_title`` is None for a
    person (blocking the bot is their right, not officers' news)."""

    chat_id: int
    group_title: str | None
    was_pending: bool


@dataclass(frozen=True)
class ChildFound:
    """Someone reported a child found alone."""

    found_id: int


@dataclass(frozen=True)
class ChildMatched:
    """An officer matched a found child to a case (``by``: the officer's name or id)."""

    found_id: int
    case_id: int
    by: str


@dataclass(frozen=True)
class CaseStillOpen:
    """A reminder fell due: the case is still open at its widest ring (after a day, stale)."""

    case_id: int


@dataclass(frozen=True)
class VerificationOverdue:
    """Cases have waited for an officer's verification longer than the reminder interval (the
    officers' list is read from the cases, so the event names none)."""


@dataclass(frozen=True)
class SendsInDoubt:
    """The bot restarted while ``count`` alerts were in the air: those groups may get one
    twice."""

    count: int


@dataclass(frozen=True)
class DeliveryFailed:
    """An alert, a retraction or a closing notice (outbox row ``row_id``) could not be
    delivered to ``chat_id`` and will not be tried again."""

    row_id: int
    case_id: int | None
    chat_id: int
    error: str


@dataclass(frozen=True)
class StarsShort:
    """The bot's Stars could not pay for ``unpaid`` of a case's paid alerts (``balance``: the
    balance read, None if it could not be read): those go at the free rate."""

    case_id: int
    unpaid: int
    balance: Decimal | None


@dataclass(frozen=True)
class PhotoStuck:
    """Telegram kept an alert photo in a group (``row_id`` tried to take it down)."""

    row_id: int
    case_id: int | None
    group_title: str
    chat_id: int


@dataclass(frozen=True)
class LeadershipMoved:
    """Another instance of the bot took over sending (the one that led stopped or lost its
    database) while ``open_cases`` cases were open."""

    open_cases: int


@dataclass(frozen=True)
class DeliveryLate:
    """Telegram could not be reached for ``seconds``: what was held back goes out now."""

    seconds: int


@dataclass(frozen=True)
class RingCrossedBorder:
    """A case's ring (stage ``stage``, ``radius_m``) reached into the area of another station
    than its owner, for the first time: that station is told once and may join."""

    case_id: int
    station_id: int
    stage: int
    radius_m: float


@dataclass(frozen=True)
class StationJoined:
    """A station a ring reached joined the case's search (its sightings, its lists)."""

    case_id: int
    station_id: int
    by_name: str


@dataclass(frozen=True)
class CaseHandedOver:
    """A case moved to another station (``None``: the default station)."""

    case_id: int
    from_station: int | None
    to_station: int | None
    by_name: str


Event = (
    CaseOpened
    | GroupsAlerted
    | StageReached
    | ExitsUnwatched
    | CaseVerified
    | SightingRecorded
    | SightingJudged
    | CloseRequested
    | CaseClosed
    | AlertOutlivedCase
    | GroupRegistered
    | GroupDecided
    | GroupUnregistered
    | RecipientGone
    | ChildFound
    | ChildMatched
    | CaseStillOpen
    | VerificationOverdue
    | SendsInDoubt
    | DeliveryFailed
    | StarsShort
    | PhotoStuck
    | LeadershipMoved
    | DeliveryLate
    | RingCrossedBorder
    | StationJoined
    | CaseHandedOver
)
