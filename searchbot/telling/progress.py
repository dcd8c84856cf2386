"""What officers and the family hear as a case opens, widens, waits for verification and
stays open: the card, each ring's result, the exits no guard watches, the reminders."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import coverage, exits
from searchbot.cases.services import Services
from searchbot.domain.clock import minutes_between
from searchbot.domain.events import (
    CaseOpened,
    CaseStillOpen,
    CaseVerified,
    ExitsUnwatched,
    StageReached,
    VerificationOverdue,
)
from searchbot.domain.messages import Out
from searchbot.models import (
    Case,
)
from searchbot.models import queries as q
from searchbot.models.outbox import Kind
from searchbot.telling import digests
from searchbot.telling.audiences import (
    case_of,
    officer_notice,
    person_label,
    pin_for_officers,
    tell_officers,
    to_family,
)
from searchbot.telling.found_child import found_waiting, match_place_to_family
from searchbot.telling.sightings import share_with_family
from searchbot.words.buttons import Verify, hand_over_row
from searchbot.words.cards import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    case_buttons,
    case_card,
    case_status,
    distance_text,
    fit,
)
from searchbot.words.texts import Raw, ref, say


async def case_opened(services: Services, session: AsyncSession, event: CaseOpened) -> None:
    """Officers: the full card (reporter, status, rings, exits) with its buttons, then a pin;
    and any found child waiting who could be this one, both cards together."""
    case = await case_of(session, event.case_id)
    counts = await q.case_counts(session, event.case_id)
    rings = await coverage.of_case(services.settings, session, case)
    ways_out = await exits.state(services, session, case)
    reporter = person_label(event.reporter_name, event.reporter_user_id)
    stations = bool((await services.officers.directory(session)).imported)

    def render(lang: str) -> Out:
        photo = case.photo_file_ids[0] if case.photo_file_ids else None
        status = (
            case_status(case, lang, services.settings, *counts)
            + "\n"
            + coverage.render(rings, lang)
            + _lines(exits.render(ways_out, lang))
        )
        text = fit(
            lambda description: say(
                lang,
                "new_case",
                card=Raw(case_card(case, lang, services.now(), description)),
                reporter=reporter,
                status=Raw(status),
            ),
            case.description or "",
            CAPTION_LIMIT if photo else TEXT_LIMIT,
        )
        buttons = case_buttons(event.case_id, lang, False, services.settings)
        buttons += hand_over_row(event.case_id, say(lang, "btn_hand_over_ask"), stations)
        return Out(text=text, photo=photo, buttons=buttons)

    await tell_officers(services, session, render, kind=Kind.CARD, case_id=case.id)
    await pin_for_officers(services, session, (case.lat, case.lon), case.id)
    await found_waiting(services, session, case)


def _lines(block: str) -> str:
    return "\n" + block if block else ""


async def stage_reached(services: Services, session: AsyncSession, event: StageReached) -> None:
    """Family and officers: what the widening did. Officers also hear, once, when the next
    ring must wait for an officer's verification."""
    case = await case_of(session, event.case_id)
    alerted, checked, _ = await q.case_counts(session, event.case_id)
    radius = services.settings.escalation[event.stage].radius_m

    def render(lang: str) -> Out:
        return Out(
            say(
                lang,
                "stage_done",
                ref=ref(event.case_id),
                stage=event.stage + 1,
                radius=Raw(distance_text(radius, lang)),
                count=event.groups,
                alerted=alerted,
                checked=checked,
            )
        )

    await to_family(services, session, case, render(case.language))
    await tell_officers(services, session, render, kind=Kind.NOTICE, case_id=case.id)
    await _hold_notice(services, session, case)


async def _hold_notice(services: Services, session: AsyncSession, case: Case) -> None:
    stages = services.settings.escalation
    following = case.stage + 1
    if case.next_stage_at is not None or following >= len(stages) or case.verified_at:
        return

    def render(lang: str) -> Out:
        return Out(
            say(
                lang,
                "needs_verification",
                ref=ref(case.id or 0),
                radius=Raw(distance_text(stages[following].radius_m, lang)),
            ),
            buttons=((Verify(case.id or 0).button(say(lang, "btn_verify")),),),
        )

    await tell_officers(
        services,
        session,
        render,
        kind=Kind.NOTICE,
        case_id=case.id,
        dedupe=f"hold:{case.id}:{following}",
    )


async def exits_unwatched(services: Services, session: AsyncSession, event: ExitsUnwatched) -> None:
    """Officers, once: the first ring's exits no guard group watches yet."""

    def render(lang: str) -> Out:
        names = Raw(exits.names_text(event.exits, lang))
        return Out(
            say(lang, "exits_warning", ref=ref(event.case_id), minutes=event.minutes, names=names)
        )

    await tell_officers(
        services,
        session,
        render,
        kind=Kind.NOTICE,
        case_id=event.case_id,
        dedupe=f"exits:{event.case_id}",
    )


async def case_verified(services: Services, session: AsyncSession, event: CaseVerified) -> None:
    """Family: the sightings held back from it until now (not those judged not credible, nor
    any ``/seen N`` from outside the alerted groups). Officers: who verified."""
    case = await case_of(session, event.case_id)
    for held in await q.held_sightings(session, event.case_id):
        await share_with_family(services, session, case, held)
    matched = await q.matched_report(session, event.case_id)
    if matched is not None:  # matched before it was verified: the place was held back
        await match_place_to_family(services, session, case, matched)
    await officer_notice(
        services, session, "verified_by", case_id=event.case_id, ref=ref(event.case_id),
        by=event.by_name,
    )  # fmt: skip


async def case_still_open(services: Services, session: AsyncSession, event: CaseStillOpen) -> None:
    case = await case_of(session, event.case_id)
    await tell_officers(
        services,
        session,
        lambda lang: _reminder(services, case, lang),
        kind=Kind.REMINDER,
        case_id=case.id,
    )


def _reminder(services: Services, case: Case, lang: str) -> Out:
    case_ref, now = ref(case.id or 0), services.now()
    if now - case.created_at >= services.settings.stale_after:
        hours = int((now - case.created_at) / timedelta(hours=1))
        text = say(lang, "remind_stale", ref=case_ref, hours=hours)
    else:
        stages = services.settings.escalation
        radius = Raw(distance_text(stages[max(case.stage, 0)].radius_m, lang))
        minutes = minutes_between(case.created_at, now)
        text = say(lang, "remind_open", ref=case_ref, minutes=minutes, radius=radius)
    return Out(text, buttons=case_buttons(case.id or 0, lang, case.verified_at is not None))


async def verification_overdue(
    services: Services, session: AsyncSession, event: VerificationOverdue
) -> None:
    """One message lists every case waiting for verification (it replaces the last one)."""
    await digests.refresh(services, session, digests.VERIFY)
