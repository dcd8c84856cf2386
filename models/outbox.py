"""The delivery outbox: every message about a case is a row before it is a Telegram call.

Writing the row in the same transaction as the change it reports (a case confirmed, a stage
fired, a case closed) means a crash can never lose an alert nor send one for a change that
was rolled back. The dispatcher drains the rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..domain.messages import Out
from .db import OUTBOX_WRITTEN
from .tables import OutboxMessage


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
    "reply": URGENT, "card": URGENT, "sighting": URGENT, "pin": URGENT,
    "notice": NOTICE, "closing_notice": NOTICE,
    "requests_digest": LOW, "verify_digest": LOW, "reminder": LOW, "group_request": LOW,
}  # fmt: skip

# What closing sends to a group: held (status ``held``) while the bot is out of the group and
# carried out when it is added back.
RETRACTION_KINDS = ("retract", "closing_notice")


def mark(session: AsyncSession) -> None:
    """Note that this transaction wrote outbox rows: its commit wakes the dispatcher."""
    session.info[OUTBOX_WRITTEN] = True


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    out: Out | dict[str, Any],
    *,
    kind: str,
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


def _rank(kind: str, lane: Lane) -> float:
    return PEOPLE_RANKS.get(kind, NOTICE) if lane == PEOPLE else 0.0


def delete_op(message_id: int, fallback_text: str) -> dict[str, Any]:
    """A retraction: delete the message; if Telegram refuses, replace its caption and buttons."""
    return {"op": "delete", "message_id": message_id, "fallback_text": fallback_text}
