"""Closing a case: the search stops and every trace of the alert leaves the groups.

Each alert photo the case put in a group is deleted (taking its buttons with it) and a short
closing notice stands in its place. Alerts still queued are cancelled; one in flight at the
moment of closing is retracted by the dispatcher as soon as its message id is known.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import escalation, found
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.events import AlertOutlivedCase, CaseClosed, CloseRequested
from searchbot.domain.messages import Answer
from searchbot.domain.outcomes import FAMILY_OUTCOMES
from searchbot.models import Case, CaseOutcome, CaseStatus, OutboxMessage
from searchbot.models import queries as q
from searchbot.models.outbox import Kind
from searchbot.words.texts import ref, say

OUTCOMES = tuple(CaseOutcome)


async def close(
    services: Services, actor: Actor, case_id: int, outcome: str, note: str | None = None
) -> Answer:
    """Close ``case_id``: officers with any outcome, the reporter with found or withdrawn (on a
    case no officer has verified yet, the reporter's word asks an officer to confirm)."""
    lang = actor.language
    parsed = CaseOutcome.parse(outcome)
    if parsed is None:
        return Answer().say(say(lang, "close_usage"))
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None:
            return Answer().say(say(lang, "no_such_case", ref=ref(case_id)))
        officer = await services.officers.is_officer(session, actor)
        owner = officer and await services.officers.may_run(session, actor, case)
        is_reporter = case.reporter_user_id == actor.user_id
        if officer and not owner and not is_reporter:  # closing is the owning station's
            text = say(lang, "not_your_station", ref=ref(case_id))
            return Answer(toast=text).say(text)
        officer = owner
        if not officer and not (is_reporter and parsed in FAMILY_OUTCOMES):
            return Answer(toast=say(lang, "officers_only")).say(say(lang, "officers_only"))
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case_id))).say(
                say(lang, "case_closed_already", ref=ref(case_id))
            )
        note = (note or "")[:500] or None
        if not officer and case.verified_at is None:
            answer = await _ask_officers(services, session, case, actor, parsed, note)
            await session.commit()
            return answer
        await _close(services, session, case, actor, parsed, note)
        await session.commit()
    return Answer(toast="✅")


async def _ask_officers(
    services: Services,
    session: AsyncSession,
    case: Case,
    actor: Actor,
    outcome: CaseOutcome,
    note: str | None,
) -> Answer:
    """The family ends a case no officer has verified: an officer confirms first, so a false
    reporter cannot take the alerts down (nor learn that they could). The officers' card has the
    Confirm button; their press closes and retracts at once. Asked once per outcome."""
    assert case.id is not None
    case_id = case.id
    lang = actor.language
    await services.publish(session, CloseRequested(case_id, outcome, note))
    await services.audit.record(session, actor.user_id, "close_requested", case_id, outcome=outcome)
    text = say(lang, "close_request_family", ref=ref(case_id))
    return Answer(toast=text).say(text)


async def _close(
    services: Services,
    session: AsyncSession,
    case: Case,
    actor: Actor,
    outcome: CaseOutcome,
    note: str | None,
) -> None:
    assert case.id is not None
    case.status, case.outcome, case.close_note = CaseStatus.CLOSED, outcome, note
    case.closed_at, case.closed_by = services.now(), actor.user_id
    await escalation.stop(session, case)
    await q.cancel_pending(session, case.id, (Kind.ALERT, Kind.COUNTER))
    await found.close_for_case(services, session, case.id)
    await services.audit.record(
        session, actor.user_id, "close", case.id, outcome=outcome, note=note
    )
    by = f"{actor.name or actor.user_id}"
    await services.publish(session, CaseClosed(case.id, outcome, note, by))


async def retract(
    services: Services, session: AsyncSession, case: Case, alert: OutboxMessage
) -> None:
    """An alert that reached its group after the case closed: take it back like the others."""
    assert case.id is not None and alert.id is not None
    await services.publish(session, AlertOutlivedCase(case.id, alert.id))
