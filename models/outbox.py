"""The delivery outbox: every message about a case is a row before it is a Telegram call.

Writing the row in the same transaction as the change it reports (a case confirmed, a stage
fired, a case closed) means a crash can never lose an alert nor send one for a change that
was rolled back. The dispatcher drains the rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..domain.messages import Op, Out
from .db import OUTBOX_WRITTEN
from .tables import OutboxMessage

# Marks an outbox row as officers' news: removing an officer cancels those still queued for them,
# and the dispatcher sends one only to someone who is still an officer.
FOR_OFFICERS = "for_officers"


class Kind(StrEnum):
    """What a row is, for whom: it decides its rank among a person's messages, what closing
    takes back, what retention forgets, and what the officers hear of a failure."""

    ALERT = "alert"  # a group's alert (photo, description, buttons)
    RETRACT = "retract"  # closing: delete that alert
    CLOSING_NOTICE = "closing_notice"  # closing: the notice left in its place
    COUNTER = "counter"  # an alert's "Checked" counter, edited
    REPLY = "reply"  # a handler's answer that went through the outbox
    CARD = "card"  # an officers' case card
    PIN = "pin"  # a map pin after a card
    SIGHTING = "sighting"
    FOUND = "found"  # a child found alone: officers' card
    MATCH = "match"  # a found child matched: family, finder, officers
    NOTICE = "notice"
    REMINDER = "reminder"
    REQUESTS_DIGEST = "requests_digest"  # the folded group requests
    VERIFY_DIGEST = "verify_digest"  # the folded cases waiting for verification
    GROUP_REQUEST = "group_request"


class Lane(IntEnum):
    """The outbox's lanes, sent in this order: a family or an officer never waits behind a
    fan-out to hundreds of groups, and a closing retraction goes before any alert still queued.
    The column keeps the number."""

    PEOPLE = 0
    RETRACT = 1
    ALERTS = 2
    COUNTERS = 3  # edits of the alerts' counters: a courtesy, after everything else


PEOPLE, RETRACT, ALERTS, COUNTERS = Lane.PEOPLE, Lane.RETRACT, Lane.ALERTS, Lane.COUNTERS

# Within the people lane, officers' traffic has a budget (the officers' group takes 20 messages
# a minute): what a person is waiting for (an answer, a new case card, a sighting) goes first,
# stage notices next, then the low ones (group requests, reminders), which are folded into one
# message each.
URGENT, NOTICE, LOW = 0.0, 1.0, 2.0
PEOPLE_RANKS = {
    Kind.REPLY: URGENT, Kind.CARD: URGENT, Kind.SIGHTING: URGENT, Kind.PIN: URGENT,
    Kind.NOTICE: NOTICE, Kind.CLOSING_NOTICE: NOTICE,
    Kind.REQUESTS_DIGEST: LOW, Kind.VERIFY_DIGEST: LOW, Kind.REMINDER: LOW,
    Kind.GROUP_REQUEST: LOW,
}  # fmt: skip

# What closing sends to a group: held (status ``held``) while the bot is out of the group and
# carried out when it is added back.
RETRACTION_KINDS = (Kind.RETRACT, Kind.CLOSING_NOTICE)


def mark(session: AsyncSession) -> None:
    """Note that this transaction wrote outbox rows: its commit wakes the dispatcher."""
    session.info[OUTBOX_WRITTEN] = True


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    out: Out | dict[str, Any],
    *,
    kind: Kind,
    now: datetime,
    case_id: int | None = None,
    lane: Lane = PEOPLE,
    rank: float | None = None,
    dedupe_key: str | None = None,
    found_id: int | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox; with ``dedupe_key``, at most once ever (None if it exists).
    ``rank`` orders rows within a lane; in the people lane it follows from ``kind``.
    ``found_id``: the found child's report it tells of (forgotten with it)."""
    if dedupe_key is not None:
        existing = await session.exec(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing.first() is not None:
            return None
    row = OutboxMessage(
        case_id=case_id,
        found_id=found_id,
        chat_id=chat_id,
        kind=kind,
        lane=lane,
        rank=_rank(kind, lane) if rank is None else rank,
        payload=out.to_payload() if isinstance(out, Out) else out,
        dedupe_key=dedupe_key,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    mark(session)
    return row


def _rank(kind: Kind, lane: Lane) -> float:
    return PEOPLE_RANKS.get(kind, NOTICE) if lane == PEOPLE else 0.0


def delete_op(message_id: int, fallback_text: str) -> dict[str, Any]:
    """A retraction: delete the message; if Telegram refuses, replace its caption and buttons."""
    return {"op": Op.DELETE.value, "message_id": message_id, "fallback_text": fallback_text}


def edit_buttons_op(message_id: int, buttons: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """An alert's buttons edited in place (its counters)."""
    return {"op": Op.EDIT_BUTTONS.value, "message_id": message_id, "buttons": buttons}


def digest_op(lang: str) -> dict[str, Any]:
    """A folded officers' message: its words are written when it is sent."""
    return {"op": Op.DIGEST.value, "lang": lang}


def digest_edit_op(out: Out, message_id: int | None, renew: bool) -> dict[str, Any]:
    """The digest written now: edit the one sent before, or send it anew and delete that."""
    op = Op.RENEW if renew else Op.EDIT
    return {**out.to_payload(), "op": op.value, "message_id": message_id}
