"""Closing a case: the search stops and every trace of the alert leaves the groups.

Each alert photo the case put in a group is deleted (taking its buttons with it) and a short
closing notice stands in its place. Alerts still queued are cancelled; one in flight at the
moment of closing is retracted by the dispatcher as soon as its message id is known.
"""

from __future__ import annotations

import html

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot import after_action, escalation, found
from searchbot.buttons import Close, Verify
from searchbot.messages import Answer, Out
from searchbot.models import Case, CaseOutcome, CaseStatus, OutboxMessage
from searchbot.models import queries as q
from searchbot.outbox import PEOPLE, RETRACT, delete_op, enqueue
from searchbot.services import Actor, Services
from searchbot.texts import ref, say

OUTCOMES = tuple(CaseOutcome)
FAMILY_OUTCOMES = (CaseOutcome.FOUND, CaseOutcome.WITHDRAWN)


async def close(
    services: Services, actor: Actor, case_id: int, outcome: str, note: str | None = None
) -> Answer:
    """Close ``case_id``: officers with any outcome, the reporter with found or withdrawn (on a
    case no officer has verified yet, the reporter's word asks an officer to confirm)."""
    lang = actor.language
    if outcome not in OUTCOMES:
        return Answer().say(say(lang, "close_usage"))
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None:
            return Answer().say(say(lang, "no_such_case", ref=ref(case_id)))
        officer = await services.is_officer(session, actor)
        is_reporter = case.reporter_user_id == actor.user_id
        if not officer and not (is_reporter and outcome in FAMILY_OUTCOMES):
            return Answer(toast=say(lang, "officers_only")).say(say(lang, "officers_only"))
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case_id))).say(
                say(lang, "case_closed_already", ref=ref(case_id))
            )
        note = (note or "")[:500] or None
        if not officer and case.verified_at is None:
            answer = await _ask_officers(services, session, case, actor, outcome, note)
            await session.commit()
            return answer
        await _close(services, session, case, actor, outcome, note)
        await session.commit()
    return Answer(toast="✅")


async def _ask_officers(
    services: Services,
    session: AsyncSession,
    case: Case,
    actor: Actor,
    outcome: str,
    note: str | None,
) -> Answer:
    """The family ends a case no officer has verified: an officer confirms first, so a false
    reporter cannot take the alerts down (nor learn that they could). The officers' card has the
    Confirm button; their press closes and retracts at once. Asked once per outcome."""
    assert case.id is not None
    case_id = case.id
    lang = actor.language

    def render(lg: str) -> Out:
        outcome_text = say(lg, f"outcome_{outcome}")
        text = say(lg, "close_request_officers", ref=ref(case_id), outcome=outcome_text)
        if note:
            text += f"\n“{html.escape(note, quote=False)}”"
        confirm = Close(case_id, outcome).button(say(lg, "btn_confirm_close", outcome=outcome_text))
        return Out(text, buttons=((confirm,), (Verify(case_id).button(say(lg, "btn_verify")),)))

    await services.tell_officers(
        session, render, kind="card", case_id=case_id, dedupe=f"close-ask:{case_id}:{outcome}"
    )
    await services.audit(session, actor.user_id, "close_requested", case_id, outcome=outcome)
    text = say(lang, "close_request_family", ref=ref(case_id))
    return Answer(toast=text).say(text)


async def _close(
    services: Services,
    session: AsyncSession,
    case: Case,
    actor: Actor,
    outcome: str,
    note: str | None,
) -> None:
    assert case.id is not None
    case.status, case.outcome, case.close_note = CaseStatus.CLOSED, CaseOutcome(outcome), note
    case.closed_at, case.closed_by = services.now(), actor.user_id
    await escalation.stop(session, case)
    await q.cancel_pending(session, case.id, ("alert", "counter"))
    for alert in await q.sent_alerts(session, case.id):
        await retract(services, session, case, alert)
    await _tell_people(services, session, case, actor, outcome, note)
    await found.close_for_case(services, session, case.id)
    await services.audit(session, actor.user_id, "close", case.id, outcome=outcome, note=note)
    await after_action.tell_officers(services, session, case.id)


async def retract(
    services: Services, session: AsyncSession, case: Case, alert: OutboxMessage
) -> None:
    """Delete one sent alert and leave the closing notice in its group (both at most once)."""
    group = await q.group_by_chat(session, alert.chat_id)
    lang = group.language if group else services.settings.language
    notice = say(lang, "alert_closed", ref=ref(case.id or 0))
    if alert.message_id is None:
        return
    now = services.now()
    await enqueue(
        session,
        alert.chat_id,
        delete_op(alert.message_id, notice),
        kind="retract",
        case_id=case.id,
        lane=RETRACT,
        dedupe_key=f"retract:{alert.id}",
        now=now,
    )
    await enqueue(
        session,
        alert.chat_id,
        Out(text=notice),
        kind="closing_notice",
        case_id=case.id,
        lane=RETRACT,
        dedupe_key=f"notice:{alert.id}",
        now=now,
    )


async def _tell_people(
    services: Services,
    session: AsyncSession,
    case: Case,
    actor: Actor,
    outcome: str,
    note: str | None,
) -> None:
    case_ref = ref(case.id or 0)
    family_key = "closed_family_found" if outcome == CaseOutcome.FOUND else "closed_family"
    family_lang = case.language
    await enqueue(
        session,
        case.reporter_chat_id,
        Out(
            say(
                family_lang,
                family_key,
                ref=case_ref,
                outcome=say(family_lang, f"outcome_{outcome}"),
                note=f"{note} " if note else "",
            )
        ),
        kind="notice",
        case_id=case.id,
        lane=PEOPLE,
        now=services.now(),
    )
    by = f"{actor.name or actor.user_id}"

    def render(lang: str) -> Out:
        return Out(
            say(
                lang,
                "closed_officers",
                ref=case_ref,
                outcome=say(lang, f"outcome_{outcome}"),
                by=by,
                note=f"“{note}”. " if note else "",
            )
        )

    await services.tell_officers(session, render, kind="notice", case_id=case.id)
