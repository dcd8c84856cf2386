"""Who hears what: every message the bot sends because something happened to a case or a group.

Use cases decide (permissions, rows) and publish ``searchbot.domain.events``; ``publish`` maps each
event to its audiences — the family, the officers (``Services.tell_officers``), each alerted
group, the sighter — and renders their messages into the outbox in the caller's transaction,
so a message is written if and only if the change it reports commits. The README's "What each
person sees" table is this module in words (tests/test_notify.py keeps the two together).

The answer to the person who acted (their reply or toast) is not here: the use case gives it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.events import (
    AlertOutlivedCase,
    CaseClosed,
    CaseHandedOver,
    CaseOpened,
    CaseStillOpen,
    CaseVerified,
    ChildFound,
    ChildMatched,
    CloseRequested,
    DeliveryFailed,
    DeliveryLate,
    Event,
    ExitsUnwatched,
    GroupDecided,
    GroupRegistered,
    GroupsAlerted,
    GroupUnregistered,
    LeadershipMoved,
    PhotoStuck,
    RecipientGone,
    RingCrossedBorder,
    SendsInDoubt,
    SightingJudged,
    SightingRecorded,
    StageReached,
    StarsShort,
    StationJoined,
    VerificationOverdue,
)
from searchbot.telling import (
    alerts,
    borders,
    broadcast,
    continuity,
    found_child,
    groups,
    progress,
    sightings,
    undelivered,
)

Teller = Callable[[Services, AsyncSession, Any], Awaitable[None]]


async def tell(services: Services, session: AsyncSession, event: Event) -> None:
    """Tell everyone who hears of ``event``, inside the caller's transaction: the teller the
    composition root gives ``Services`` (use cases call ``services.publish``)."""
    await TELLERS[type(event)](services, session, event)


TELLERS: dict[type, Teller] = {
    CaseOpened: progress.case_opened,
    GroupsAlerted: alerts.groups_alerted,
    StageReached: progress.stage_reached,
    ExitsUnwatched: progress.exits_unwatched,
    CaseVerified: progress.case_verified,
    SightingRecorded: sightings.sighting_recorded,
    SightingJudged: sightings.sighting_judged,
    CloseRequested: alerts.close_requested,
    CaseClosed: alerts.case_closed,
    AlertOutlivedCase: alerts.alert_outlived_case,
    GroupRegistered: groups.group_registered,
    GroupDecided: groups.group_decided,
    GroupUnregistered: groups.group_unregistered,
    RecipientGone: groups.recipient_gone,
    ChildFound: found_child.child_found,
    ChildMatched: found_child.child_matched,
    CaseStillOpen: progress.case_still_open,
    VerificationOverdue: progress.verification_overdue,
    SendsInDoubt: undelivered.sends_in_doubt,
    DeliveryFailed: undelivered.delivery_failed,
    PhotoStuck: undelivered.photo_stuck,
    LeadershipMoved: continuity.leadership_moved,
    DeliveryLate: continuity.delivery_late,
    StarsShort: broadcast.stars_short,
    RingCrossedBorder: borders.ring_crossed,
    StationJoined: borders.station_joined,
    CaseHandedOver: borders.case_handed_over,
}
