"""Officers' low-priority news folded into one message each, so it cannot crowd out a new case
card or a sighting in the officers' group (20 messages a minute).

- **Group requests**: one message per officer chat lists every group waiting for approval with
  Approve/Reject per group, edited in place as requests come and go.
- **Verification reminder**: one message lists every case waiting for an officer's
  verification; each reminder replaces the previous one (a new message, so it notifies).

A change only makes sure one digest row is pending per officer chat; the dispatcher renders
the digest when it sends it, so it always shows the state of that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.clock import minutes_between
from searchbot.domain.messages import Button, Out
from searchbot.models import Case, CaseStatus, Group, GroupStatus, OutboxMessage, OutboxStatus
from searchbot.models import queries as q
from searchbot.models.outbox import PEOPLE, Kind, digest_edit_op, digest_op, enqueue
from searchbot.telling.audiences import officer_chats
from searchbot.words.buttons import Approve, Reject, Verify
from searchbot.words.cards import clip, distance_text
from searchbot.words.texts import Raw, plain, ref, say

REQUESTS = Kind.REQUESTS_DIGEST
VERIFY = Kind.VERIFY_DIGEST
SHOWN = 10  # entries listed with their buttons; the rest are counted (and /groups pending)
TITLE_MAX = 32  # a button's label
TITLE_WHOLE = 128  # Telegram's longest group title: the line shows it all (ten fit a message)


async def refresh(services: Services, session: AsyncSession, kind: Kind) -> None:
    """Make sure every officer chat has one digest of ``kind`` waiting to be sent."""
    for chat_id, lang in await officer_chats(services, session):
        waiting = await session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.kind == kind,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        )
        if waiting.first() is None:
            await enqueue(
                session, chat_id, digest_op(lang), kind=kind, lane=PEOPLE,
                now=services.now(),
            )  # fmt: skip


def waiting_for_verification(services: Services, case: Case) -> bool:
    """An open case whose next ring holds until an officer verifies it."""
    return (
        case.status == CaseStatus.OPEN
        and case.next_stage_at is None
        and case.verified_at is None
        and case.stage + 1 < len(services.settings.escalation)
    )


async def render(
    services: Services, session: AsyncSession, chat_id: int, kind: Kind, lang: str
) -> dict[str, Any] | None:
    """The payload a digest row stands for now (None: nothing to say). ``op`` is ``edit``
    (change the previous digest in place) or ``renew`` (send anew, delete the previous)."""
    previous = await _previous(session, chat_id, kind)
    scope = await services.officers.stations_of_chat(session, chat_id)  # its stations' only
    if kind == REQUESTS:
        groups = await q.groups_listed(session, GroupStatus.PENDING)
        groups = [g for g in groups if scope is None or g.station_id in scope]
        if not groups and previous is None:
            return None
        return digest_edit_op(_requests(groups, lang), previous, renew=False)
    query = select(Case).where(Case.status == CaseStatus.OPEN, col(Case.next_stage_at).is_(None))
    cases = [
        c
        for c in (await session.exec(query)).all()
        if waiting_for_verification(services, c) and (scope is None or c.station_id in scope)
    ]
    if not cases:
        return None
    out = _verify(services, sorted(cases, key=lambda c: c.id or 0), lang)
    return digest_edit_op(out, previous, renew=True)


async def _previous(session: AsyncSession, chat_id: int, kind: Kind) -> int | None:
    """The message id of the last digest of ``kind`` sent to ``chat_id``."""
    query = (
        select(OutboxMessage.message_id)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.kind == kind,
            OutboxMessage.status == OutboxStatus.SENT,
            col(OutboxMessage.message_id).is_not(None),
        )
        .order_by(col(OutboxMessage.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


def _requests(groups: Sequence[Group], lang: str) -> Out:
    if not groups:
        return Out(say(lang, "digest_requests_none"))
    lines = [say(lang, "digest_requests_head", count=len(groups))]
    buttons: list[tuple[Button, ...]] = []
    for group in groups[:SHOWN]:
        # the whole title in the line (the officer approves what it says, all of it); the
        # button's label is cut to fit
        title = clip(group.title or str(group.chat_id), TITLE_MAX)
        lines.append(
            say(
                lang, "digest_requests_line",
                title=clip(group.title or str(group.chat_id), TITLE_WHOLE),
                role=say(lang, f"role_{group.role}"),
                chat_id=group.chat_id, lat=f"{group.lat or 0:.5f}", lon=f"{group.lon or 0:.5f}",
                by=group.registered_by,
            )
        )  # fmt: skip
        buttons.append(
            (
                Approve(group.chat_id).button(plain(lang, "btn_approve_group", title=title)),
                Reject(group.chat_id).button(say(lang, "btn_reject")),
            )
        )
    if len(groups) > SHOWN:
        lines.append(say(lang, "digest_more", count=len(groups) - SHOWN))
    return Out(Raw("\n".join(lines)), buttons=tuple(buttons))


def _verify(services: Services, cases: Sequence[Case], lang: str) -> Out:
    stages, now = services.settings.escalation, services.now()
    lines = [say(lang, "digest_verify_head", count=len(cases))]
    buttons: list[tuple[Button, ...]] = []
    for case in cases[:SHOWN]:
        radius = Raw(distance_text(stages[case.stage + 1].radius_m, lang))
        lines.append(
            say(
                lang, "digest_verify_line", ref=ref(case.id or 0),
                minutes=minutes_between(case.created_at, now), radius=radius,
            )
        )  # fmt: skip
        buttons.append(
            (Verify(case.id or 0).button(say(lang, "btn_verify_case", ref=ref(case.id or 0))),)
        )
    if len(cases) > SHOWN:
        lines.append(say(lang, "digest_more_cases", count=len(cases) - SHOWN))
    return Out(Raw("\n".join(lines)), buttons=tuple(buttons))
