"""A child found alone: the finder's report to officers ahead of everything else, the cases
it could match, and what the family and the finder hear of a match."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import found, matching
from searchbot.cases.matching import Candidate
from searchbot.cases.services import Services
from searchbot.domain.clock import local_hhmm
from searchbot.domain.events import (
    ChildFound,
    ChildMatched,
)
from searchbot.domain.messages import Button, Out
from searchbot.domain.redaction import redact
from searchbot.models import (
    Case,
    FoundReport,
)
from searchbot.models import queries as q
from searchbot.models.outbox import PEOPLE, Kind, enqueue
from searchbot.telling.audiences import (
    EVERYWHERE,
    Scope,
    case_of,
    person_label,
    pin_for_officers,
    tell_officers,
)
from searchbot.words.buttons import CloseFoundReport, Match, Verify
from searchbot.words.cards import (
    TEXT_LIMIT,
    age_text,
    case_card,
    clip,
    distance_text,
    fit,
    fref,
    sex_text,
)
from searchbot.words.texts import Raw, ref, say


def for_family(text: str, lang: str) -> str:
    """A finder's free text as the family may read it: contact details out, by the same
    redaction as the alerts, with the marker in the family's language."""
    return redact(text, say(lang, "contact_removed"))


async def child_found(services: Services, session: AsyncSession, event: ChildFound) -> None:
    """Officers only, ahead of everything else: the finder's report in full (photo, finder,
    phone), the open cases it could match with **Match #N**, and a pin. No group, no family."""
    report = await session.get(FoundReport, event.found_id)
    assert report is not None
    candidates = await matching.cases_for(session, report)
    group = await _group_title(session, report.group_chat_id)

    def render(lang: str) -> Out:
        lines = [say(lang, "found_candidates" if candidates else "found_no_candidates")]
        lines += [_candidate_line(c, lang) for c in candidates]
        tail = "\n\n" + "\n".join(lines)
        text = fit(
            lambda d: found_card(report, lang, group, d) + tail,
            report.description or "",
            TEXT_LIMIT,
        )
        buttons = (*_match_buttons(candidates, lang), _close_row(report, lang))
        return Out(text=text, photo=report.photo_file_id, buttons=buttons)

    # the station where the child is, and each candidate case's owner
    here = (await services.officers.directory(session)).locate(report.lat, report.lon)
    scope: set[int | None] = {here.id if here is not None else None}
    scope |= {c.case.station_id for c in candidates}
    await _tell_first(services, session, render, found_id=report.id, stations=scope)
    await pin_for_officers(
        services, session, (report.lat, report.lon), found_id=report.id, stations=scope
    )


async def found_waiting(services: Services, session: AsyncSession, case: Case) -> None:
    """A family's new case: if a found child who could be theirs is waiting, the officers see
    both cards at once."""
    now = services.now()
    for candidate in await matching.found_for(session, case):
        report = candidate.found
        group = await _group_title(session, report.group_chat_id)

        def render(lang: str, report: FoundReport = report, group: str | None = group) -> Out:
            head = say(
                lang, "found_possible_match", ref=ref(case.id or 0), fref=fref(report.id or 0)
            )
            text = fit(
                lambda d: (
                    head
                    + "\n\n"
                    + found_card(report, lang, group, d)
                    + "\n\n"
                    + case_card(case, lang, now, clip(case.description or "", found.CASE_SHOWN))
                ),
                report.description or "",
                TEXT_LIMIT,
            )
            match = Match(report.id or 0, case.id or 0).button(
                say(lang, "btn_match", ref=ref(case.id or 0))
            )
            return Out(text=text, photo=report.photo_file_id, buttons=((match,),))

        # the case's station, and the station where the child is
        here = (await services.officers.directory(session)).locate(report.lat, report.lon)
        scope = {case.station_id, here.id if here is not None else None}
        await _tell_first(services, session, render, case.id, found_id=report.id, stations=scope)


async def child_matched(services: Services, session: AsyncSession, event: ChildMatched) -> None:
    """The family: only the place (contact details out) and a pin, once the case is verified
    (before that, only that a child was found: the reporter may be the person the child ran
    from; ``progress.case_verified`` sends the place). The finder: only that the police are
    coming. Officers: the match, with the handover checklist."""
    case = await case_of(session, event.case_id)
    report = await session.get(FoundReport, event.found_id)
    assert report is not None
    now, top = services.now(), found.TOP
    held = case.verified_at is None
    if held:
        await enqueue(session, case.reporter_chat_id,
                      Out(say(case.language, "match_family_held", ref=ref(case.id or 0))),
                      kind=Kind.MATCH, case_id=case.id, lane=PEOPLE, rank=top, now=now)  # fmt: skip
    else:
        await match_place_to_family(services, session, case, report)
    await enqueue(session, report.reporter_chat_id, Out(say(report.language, "match_finder")),
                  kind=Kind.MATCH, case_id=case.id, lane=PEOPLE, rank=top, now=now)  # fmt: skip

    def render(lang: str) -> Out:
        key = "match_officers_held" if held else "match_officers"
        text = say(lang, key, ref=ref(case.id or 0), fref=fref(report.id or 0),
                   by=event.by, place=report.place_text or "")  # fmt: skip
        verify = ((Verify(case.id or 0).button(say(lang, "btn_verify")),),) if held else ()
        return Out(text, buttons=verify + found.checklist_buttons(report, lang))

    await _tell_first(services, session, render, case.id, found_id=report.id)


async def match_place_to_family(
    services: Services, session: AsyncSession, case: Case, report: FoundReport
) -> None:
    """Where the matched child is, for a verified case's family: the place (contact details
    out) and a pin, ahead of everything else."""
    place = for_family(report.place_text or f"{report.lat:.5f}, {report.lon:.5f}", case.language)
    family = Out(say(case.language, "match_family", ref=ref(case.id or 0), place=place))
    for out in (family, Out(location=(report.lat, report.lon))):
        await enqueue(session, case.reporter_chat_id, out, kind=Kind.MATCH, case_id=case.id,
                      lane=PEOPLE, rank=found.TOP, now=services.now(), found_id=report.id)  # fmt: skip


async def _group_title(session: AsyncSession, chat_id: int | None) -> str | None:
    group = await q.group_by_chat(session, chat_id) if chat_id else None
    return group.title if group else None


def found_card(report: FoundReport, lang: str, group: str | None, description: str) -> str:
    """Everything the finder said, for officers only (the finder's name and phone included)."""
    finder = person_label(report.reporter_name or "", report.reporter_user_id)
    return say(
        lang,
        "found_card",
        ref=fref(report.id or 0),
        age=Raw(age_text(report.age, lang)),
        sex=Raw(sex_text(report.sex, lang)),
        description=description,
        place=clip(report.place_text or f"{report.lat:.5f}, {report.lon:.5f}", 200),
        with_whom=report.with_whom or "?",
        finder=finder,
        contact=report.contact or say(lang, "no_contact"),
        group=Raw(say(lang, "found_via_group", title=clip(group, 60))) if group else "",
        time=local_hhmm(report.created_at),
    )


def _candidate_line(candidate: Candidate, lang: str) -> str:
    case = candidate.case
    return say(
        lang,
        "found_candidate",
        ref=ref(case.id or 0),
        age=Raw(age_text(case.age, lang)),
        sex=Raw(sex_text(case.sex, lang)),
        place=clip(case.place_text or "", 80),
        distance=Raw(distance_text(candidate.distance_m, lang)),
        minutes=candidate.minutes,
    )


def _match_buttons(candidates: list[Candidate], lang: str) -> tuple[tuple[Button, ...], ...]:
    return tuple(
        (
            Match(c.found.id or 0, c.case.id or 0).button(
                say(lang, "btn_match", ref=ref(c.case.id or 0))
            ),
        )
        for c in candidates
    )


def _close_row(report: FoundReport, lang: str) -> tuple[Button, ...]:
    return (CloseFoundReport(report.id or 0).button(say(lang, "btn_found_close")),)


async def _tell_first(
    services: Services,
    session: AsyncSession,
    render: Callable[[str], Out],
    case_id: int | None = None,
    *,
    found_id: int | None = None,
    stations: Scope = EVERYWHERE,
) -> None:
    """Each officer chat (of ``stations``, or of the case's station), ahead of everything else queued for it: officers' news like any other
    (a removed officer's copy is cancelled), at the top of the queue. The rows name the found
    child's report ``found_id``: forgetting it deletes them (they hold the finder's words)."""
    await tell_officers(
        services, session, render, kind=Kind.FOUND, case_id=case_id, rank=found.TOP,
        found_id=found_id, stations=stations,
    )  # fmt: skip
