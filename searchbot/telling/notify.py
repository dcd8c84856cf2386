"""Who hears what: every message the bot sends because something happened to a case or a group.

Use cases decide (permissions, rows) and publish ``searchbot.domain.events``; ``publish`` maps each
event to its audiences — the family, the officers (``Services.tell_officers``), each alerted
group, the sighter — and renders their messages into the outbox in the caller's transaction,
so a message is written if and only if the change it reports commits. The README's "What each
person sees" table is this module in words (tests/test_notify.py keeps the two together).

The answer to the person who acted (their reply or toast) is not here: the use case gives it.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import coverage, exits, found, matching, playbooks
from searchbot.cases.matching import Candidate
from searchbot.cases.playbooks import Job
from searchbot.cases.services import Services, person_label
from searchbot.domain.clock import local_hhmm, minutes_between
from searchbot.domain.events import (
    AlertOutlivedCase,
    CaseClosed,
    CaseOpened,
    CaseStillOpen,
    CaseVerified,
    ChildFound,
    ChildMatched,
    CloseRequested,
    DeliveryFailed,
    Event,
    ExitsUnwatched,
    GroupDecided,
    GroupRegistered,
    GroupsAlerted,
    GroupUnregistered,
    PhotoStuck,
    RecipientGone,
    SendsInDoubt,
    SightingJudged,
    SightingRecorded,
    StageReached,
    VerificationOverdue,
)
from searchbot.domain.grid import GroupPoint, distance_m
from searchbot.domain.messages import Button, Out
from searchbot.domain.redaction import redact
from searchbot.models import (
    Case,
    CaseOutcome,
    FoundReport,
    OutboxMessage,
    OutboxStatus,
    Sighting,
    SightingSource,
)
from searchbot.models import queries as q
from searchbot.models.outbox import ALERTS, PEOPLE, RETRACT, delete_op, enqueue, mark
from searchbot.operations import after_action
from searchbot.telling import digests
from searchbot.words.buttons import Checked, Close, CloseFoundReport, Judge, Match, Verify
from searchbot.words.cards import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    age_text,
    alert_caption,
    case_buttons,
    case_card,
    case_status,
    clip,
    distance_text,
    fit,
    sex_text,
    visible_length,
)
from searchbot.words.texts import Raw, ref, say

Teller = Callable[[Services, AsyncSession, Any], Awaitable[None]]


async def tell(services: Services, session: AsyncSession, event: Event) -> None:
    """Tell everyone who hears of ``event``, inside the caller's transaction: the teller the
    composition root gives ``Services`` (use cases call ``services.publish``)."""
    await TELLERS[type(event)](services, session, event)


async def _case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    assert case is not None, f"case {case_id} is gone"
    return case


async def _to_family(services: Services, session: AsyncSession, case: Case, out: Out) -> None:
    await enqueue(
        session, case.reporter_chat_id, out, kind="notice", case_id=case.id, lane=PEOPLE,
        now=services.now(),
    )  # fmt: skip


# --- a case opens, widens, is verified ---------------------------------------------------------


async def _case_opened(services: Services, session: AsyncSession, event: CaseOpened) -> None:
    """Officers: the full card (reporter, status, rings, exits) with its buttons, then a pin;
    and any found child waiting who could be this one, both cards together."""
    case = await _case(session, event.case_id)
    counts = await q.case_counts(session, event.case_id)
    rings = await coverage.of_case(services.settings, session, case)
    ways_out = await exits.state(services, session, case)
    reporter = person_label(event.reporter_name, event.reporter_user_id)

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
        return Out(text=text, photo=photo, buttons=buttons)

    await services.tell_officers(session, render, kind="card", case_id=case.id)
    await services.pin_for_officers(session, (case.lat, case.lon), case.id)
    await _found_waiting(services, session, case)


def _lines(block: str) -> str:
    return "\n" + block if block else ""


async def _groups_alerted(services: Services, session: AsyncSession, event: GroupsAlerted) -> None:
    """Each group: its alert (photo, public description, distance, its job, the buttons),
    nearest first. One bulk insert: thousands of groups can join in one ring."""
    if not event.targets:
        return
    case = await _case(session, event.case_id)
    seen = await session.get(Sighting, event.seen_sighting_id) if event.seen_sighting_id else None
    jobs = await playbooks.jobs(services, session, case, event.targets, event.radius_m)
    await session.exec(  # type: ignore[call-overload]
        insert(OutboxMessage),
        params=[
            _alert_row(services, case, group, distance, token, seen, jobs.get(group.id))
            for (distance, group), token in zip(event.targets, event.tokens, strict=True)
        ],
    )
    mark(session)


def _alert_row(
    services: Services,
    case: Case,
    group: GroupPoint,
    distance: float,
    token: str,
    seen: Sighting | None,
    job: Job | None = None,
) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "chat_id": group.chat_id,
        "kind": "alert",
        "lane": ALERTS,
        "rank": distance,
        "payload": alert_out(
            services, case, group.language, distance, token, seen, job, group.chat_id
        ).to_payload(),
        "dedupe_key": f"alert:{case.id}:{group.id}",
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": services.now(),
        "created_at": services.now(),
    }


def alert_out(
    services: Services,
    case: Case,
    lang: str,
    distance: float,
    token: str,
    seen: Sighting | None = None,
    job: Job | None = None,
    chat_id: int | None = None,
) -> Out:
    """The alert for one group: the photo, the public description, the group's job, and the
    buttons (seen, checked, the guards' exits, found a child). The "I saw them" link carries
    the alert's own ``token``, never the case number; the photo is protected from forwarding
    and saving unless the station turned that off."""
    now, show_name = services.now(), services.settings.alert_show_name
    work = job.text if job else ""
    if seen is None:
        caption = alert_caption(case, lang, distance, now, show_name, job=work)
        photo = case.photo_file_ids[0] if case.photo_file_ids else None
    else:
        headline = say(lang, "alert_seen_here", time=local_hhmm(seen.seen_at))
        where = case.model_copy(
            update={"place_text": seen.place_text, "lat": seen.lat, "lon": seen.lon,
                    "last_seen_at": seen.seen_at}
        )  # fmt: skip
        caption = alert_caption(where, lang, distance, now, show_name, headline + "\n", work)
        photo = seen.photo_file_id or (case.photo_file_ids[0] if case.photo_file_ids else None)
    buttons = (
        (Button(say(lang, "btn_seen"), url=services.deep_link(f"seen_{token}")),),
        (Checked(case.id or 0).button(say(lang, "btn_checked")),),
        *(job.buttons if job else ()),
    )
    if chat_id is not None:
        found = Button(say(lang, "btn_found_child"), url=services.deep_link(f"found_{chat_id}"))
        buttons = (*buttons, (found,))
    return Out(
        text=caption, photo=photo, buttons=buttons, protect=services.settings.protect_content
    )


async def _stage_reached(services: Services, session: AsyncSession, event: StageReached) -> None:
    """Family and officers: what the widening did. Officers also hear, once, when the next
    ring must wait for an officer's verification."""
    case = await _case(session, event.case_id)
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

    await _to_family(services, session, case, render(case.language))
    await services.tell_officers(session, render, kind="notice", case_id=case.id)
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

    await services.tell_officers(
        session, render, kind="notice", case_id=case.id, dedupe=f"hold:{case.id}:{following}"
    )


async def _exits_unwatched(
    services: Services, session: AsyncSession, event: ExitsUnwatched
) -> None:
    """Officers, once: the first ring's exits no guard group watches yet."""

    def render(lang: str) -> Out:
        names = Raw(exits.names_text(event.exits, lang))
        return Out(
            say(lang, "exits_warning", ref=ref(event.case_id), minutes=event.minutes, names=names)
        )

    await services.tell_officers(
        session, render, kind="notice", case_id=event.case_id, dedupe=f"exits:{event.case_id}"
    )


async def _case_verified(services: Services, session: AsyncSession, event: CaseVerified) -> None:
    """Family: the sightings held back from it until now (not those judged not credible, nor
    any ``/seen N`` from outside the alerted groups). Officers: who verified."""
    case = await _case(session, event.case_id)
    for held in await q.held_sightings(session, event.case_id):
        await _share_with_family(services, session, case, held)
    matched = await q.matched_report(session, event.case_id)
    if matched is not None:  # matched before it was verified: the place was held back
        await _match_place_to_family(services, session, case, matched)
    await _officer_notice(
        services, session, "verified_by", case_id=event.case_id, ref=ref(event.case_id),
        by=event.by_name,
    )  # fmt: skip


# --- sightings -----------------------------------------------------------------------------------


async def _sighting_recorded(
    services: Services, session: AsyncSession, event: SightingRecorded
) -> None:
    """Officers hear every sighting in full, with who sent it. The family hears it in full only
    when it came from an alerted group and the case is verified; while the case is unverified
    the family is only told that one came in (the reporter may be the person someone fled
    from), and a ``/seen N`` typed by anyone never reaches the family unless an officer marks
    it credible. The sighter never hears of the family."""
    sighting = await session.get(Sighting, event.sighting_id)
    assert sighting is not None
    case = await _case(session, sighting.case_id)
    chat = sighting.group_chat_id
    group = await q.group_by_chat(session, chat) if chat is not None else None
    held = None
    if sighting.source == SightingSource.COMMAND:
        held = "sighting_outside_officers"
    elif case.verified_at is None:
        held = "sighting_held_officers"
        await _to_family(
            services, session, case,
            Out(say(case.language, "sighting_held_family", ref=ref(case.id or 0))),
        )  # fmt: skip
    else:
        await _share_with_family(services, session, case, sighting)
    sighter = person_label(sighting.reporter_name or "", sighting.reporter_user_id)
    if sighting.contact:
        sighter += f" ☎️ {sighting.contact}"
    for chat_id, lang in await services.officer_chats(session):
        text = say(
            lang,
            "sighting_officers",
            sighting=Raw(sighting_text(case, sighting, lang)),
            sighter=sighter,
            group=Raw(say(lang, "sighting_in_group", title=group.title)) if group else "",
        )
        if held:
            text += "\n" + say(lang, held, ref=ref(case.id or 0))
        buttons = (
            (
                Judge(sighting.id or 0, True).button(say(lang, "btn_credible")),
                Judge(sighting.id or 0, False).button(say(lang, "btn_not_credible")),
            ),
            (Close(case.id or 0, "found").button(say(lang, "btn_close_found")),),
        )
        await _send_sighting(services, session, case, chat_id, text, sighting, buttons)


async def _sighting_judged(
    services: Services, session: AsyncSession, event: SightingJudged
) -> None:
    """Credible: the family has it in full (an officer vouches for it). Officers: the verdict
    and how many groups the re-centred search reached."""
    sighting = await session.get(Sighting, event.sighting_id)
    assert sighting is not None
    case = await _case(session, sighting.case_id)
    if event.credible:
        await _share_with_family(services, session, case, sighting)
    key = "credible_marked" if event.credible else "not_credible_marked"
    await _officer_notice(
        services, session, key, case_id=case.id, ref=ref(case.id or 0), by=event.by_name,
        count=event.alerted,
    )  # fmt: skip


async def _share_with_family(
    services: Services, session: AsyncSession, case: Case, sighting: Sighting
) -> None:
    """The sighting in full (place, pin, photo, the sighter's words without contact details)
    to the family, at most once: ``shared_at`` records that it was."""
    if sighting.shared_at is not None:
        return
    sighting.shared_at = services.now()
    session.add(sighting)
    text = sighting_text(case, sighting, case.language, public=True)
    await _send_sighting(services, session, case, case.reporter_chat_id, text, sighting)


async def _send_sighting(
    services: Services,
    session: AsyncSession,
    case: Case,
    chat_id: int,
    text: str,
    sighting: Sighting,
    buttons: tuple[tuple[Button, ...], ...] = (),
) -> None:
    """A sighting's text (with its photo) and, when it has a place, its pin."""
    outs = [Out(text=text, photo=sighting.photo_file_id, buttons=buttons)]
    if sighting.lat is not None and sighting.lon is not None:
        outs.append(Out(location=(sighting.lat, sighting.lon)))
    for out in outs:
        await enqueue(
            session, chat_id, out, kind="sighting", case_id=case.id, lane=PEOPLE,
            now=services.now(),
        )  # fmt: skip


def sighting_text(case: Case, sighting: Sighting, lang: str, public: bool = False) -> str:
    """Where, how far from the last-seen place, how long after. ``public``: the sighter's
    words without contact details (for the family, who must not learn who the sighter is);
    officers read them as typed."""
    marker = say(lang, "contact_removed")

    def words(text: str | None) -> str | None:
        return redact(text, marker) if public and text else text

    place = words(sighting.place_text)
    if sighting.lat is not None and sighting.lon is not None:
        distance = Raw(
            distance_text(distance_m((case.lat, case.lon), (sighting.lat, sighting.lon)), lang)
        )
        where = place or f"{sighting.lat:.5f}, {sighting.lon:.5f}"
    else:
        distance = Raw("?")
        where = place or say(lang, "sighting_where_unknown")
    return say(
        lang,
        "sighting",
        ref=ref(case.id or 0),
        where=where,
        distance=distance,
        minutes=minutes_between(case.last_seen_at, sighting.seen_at),
        note=words(sighting.note) or "",
    )


# --- closing ---------------------------------------------------------------------------------------


async def _close_requested(
    services: Services, session: AsyncSession, event: CloseRequested
) -> None:
    """Officers: the family's request with Confirm and Verify buttons, once per outcome."""
    case_id, outcome, note = event.case_id, event.outcome, event.note

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


async def _case_closed(services: Services, session: AsyncSession, event: CaseClosed) -> None:
    """Each alerted group: its alert photo deleted and a closing notice in its place. The
    family: the outcome. Officers: the outcome, who closed it, then the after-action page."""
    case = await _case(session, event.case_id)
    for alert in await q.sent_alerts(session, event.case_id):
        await _retract(services, session, case, alert)
    outcome, note, case_ref = event.outcome, event.note, ref(event.case_id)
    family_key = "closed_family_found" if outcome == CaseOutcome.FOUND else "closed_family"
    family = say(
        case.language, family_key, ref=case_ref, outcome=say(case.language, f"outcome_{outcome}"),
        note=f"{note} " if note else "",
    )  # fmt: skip
    await _to_family(services, session, case, Out(family))

    def render(lang: str) -> Out:
        return Out(
            say(
                lang,
                "closed_officers",
                ref=case_ref,
                outcome=say(lang, f"outcome_{outcome}"),
                by=event.by,
                note=f"“{note}”. " if note else "",
            )
        )

    await services.tell_officers(session, render, kind="notice", case_id=case.id)
    await session.flush()  # the closing's own audit entry is part of the after-action page
    report = await after_action.build(session, event.case_id, services.settings)
    if report is not None:
        await services.tell_officers(
            session, lambda lang: Out(after_action.render(report, lang)), kind="notice",
            case_id=event.case_id, dedupe=f"after-action:{event.case_id}",
        )  # fmt: skip


async def _alert_outlived_case(
    services: Services, session: AsyncSession, event: AlertOutlivedCase
) -> None:
    """The group: that late alert taken back like the others."""
    case = await _case(session, event.case_id)
    alert = await session.get(OutboxMessage, event.outbox_id)
    if alert is not None:
        await _retract(services, session, case, alert)


async def _retract(
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
        session, alert.chat_id, delete_op(alert.message_id, notice), kind="retract",
        case_id=case.id, lane=RETRACT, dedupe_key=f"retract:{alert.id}", now=now,
    )  # fmt: skip
    await enqueue(
        session, alert.chat_id, Out(text=notice), kind="closing_notice",
        case_id=case.id, lane=RETRACT, dedupe_key=f"notice:{alert.id}", now=now,
    )  # fmt: skip


# --- groups ------------------------------------------------------------------------------------------


async def _group_registered(
    services: Services, session: AsyncSession, event: GroupRegistered
) -> None:
    """Officers: the folded digest of pending group requests, now with this one."""
    await digests.refresh(services, session, digests.REQUESTS)


async def _group_decided(services: Services, session: AsyncSession, event: GroupDecided) -> None:
    """Officers: the requests digest without it. The group: approved, or rejected."""
    await digests.refresh(services, session, digests.REQUESTS)
    group = await q.group_by_chat(session, event.chat_id)
    assert group is not None
    key = "approved_group" if event.approved else "rejected_group"
    await enqueue(
        session, group.chat_id, Out(say(group.language, key)), kind="notice", lane=PEOPLE,
        now=services.now(),
    )  # fmt: skip


async def _group_unregistered(
    services: Services, session: AsyncSession, event: GroupUnregistered
) -> None:
    """Officers: a request withdrawn leaves the requests digest."""
    if event.was_pending:
        await digests.refresh(services, session, digests.REQUESTS)


async def _recipient_gone(services: Services, session: AsyncSession, event: RecipientGone) -> None:
    """Officers: a group the bot left (once), and the requests digest if it was waiting."""
    if event.was_pending:
        await digests.refresh(services, session, digests.REQUESTS)
    title = event.group_title
    if title is not None:
        await _officer_notice(
            services, session, "recipient_gone", dedupe=f"gone:{event.chat_id}", chat=title
        )


# --- a child found alone ---------------------------------------------------------------------------


async def _child_found(services: Services, session: AsyncSession, event: ChildFound) -> None:
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

    await _tell_first(services, session, render, found_id=report.id)
    await services.pin_for_officers(session, (report.lat, report.lon), found_id=report.id)


async def _found_waiting(services: Services, session: AsyncSession, case: Case) -> None:
    """A family's new case: if a found child who could be theirs is waiting, the officers see
    both cards at once."""
    now = services.now()
    for candidate in await matching.found_for(session, case):
        report = candidate.found
        group = await _group_title(session, report.group_chat_id)

        def render(lang: str, report: FoundReport = report, group: str | None = group) -> Out:
            head = say(
                lang, "found_possible_match", ref=ref(case.id or 0), fref=found.fref(report.id or 0)
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

        await _tell_first(services, session, render, case.id, found_id=report.id)


async def _child_matched(services: Services, session: AsyncSession, event: ChildMatched) -> None:
    """The family: only the place (contact details out) and a pin, once the case is verified
    (before that, only that a child was found: the reporter may be the person the child ran
    from; ``_case_verified`` sends the place). The finder: only that the police are coming.
    Officers: the match, with the handover checklist."""
    case = await _case(session, event.case_id)
    report = await session.get(FoundReport, event.found_id)
    assert report is not None
    now, top = services.now(), found.TOP
    held = case.verified_at is None
    if held:
        await enqueue(session, case.reporter_chat_id,
                      Out(say(case.language, "match_family_held", ref=ref(case.id or 0))),
                      kind="match", case_id=case.id, lane=PEOPLE, rank=top, now=now)  # fmt: skip
    else:
        await _match_place_to_family(services, session, case, report)
    await enqueue(session, report.reporter_chat_id, Out(say(report.language, "match_finder")),
                  kind="match", case_id=case.id, lane=PEOPLE, rank=top, now=now)  # fmt: skip

    def render(lang: str) -> Out:
        key = "match_officers_held" if held else "match_officers"
        text = say(lang, key, ref=ref(case.id or 0), fref=found.fref(report.id or 0),
                   by=event.by, place=report.place_text or "")  # fmt: skip
        verify = ((Verify(case.id or 0).button(say(lang, "btn_verify")),),) if held else ()
        return Out(text, buttons=verify + found.checklist_buttons(report, lang))

    await _tell_first(services, session, render, case.id, found_id=report.id)


async def _match_place_to_family(
    services: Services, session: AsyncSession, case: Case, report: FoundReport
) -> None:
    """Where the matched child is, for a verified case's family: the place (contact details
    out) and a pin, ahead of everything else."""
    place = found.for_public(report.place_text or f"{report.lat:.5f}, {report.lon:.5f}")
    family = Out(say(case.language, "match_family", ref=ref(case.id or 0), place=place))
    for out in (family, Out(location=(report.lat, report.lon))):
        await enqueue(session, case.reporter_chat_id, out, kind="match", case_id=case.id,
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
        ref=found.fref(report.id or 0),
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
) -> None:
    """Each officer chat, ahead of everything else queued for it. A card too long for a
    photo's caption goes as the photo, then the text with the buttons. The rows name the found
    child's report ``found_id``: forgetting it deletes them (they hold the finder's words)."""
    for chat_id, lang in await services.officer_chats(session):
        out = render(lang)
        outs = [out]
        if out.photo and visible_length(out.text) > CAPTION_LIMIT:
            outs = [Out(photo=out.photo), replace(out, photo=None)]
        for each in outs:
            await enqueue(session, chat_id, each, kind="found", case_id=case_id, lane=PEOPLE,
                          rank=found.TOP, now=services.now(), found_id=found_id)  # fmt: skip


# --- nobody forgets an open case ---------------------------------------------------------------


async def _case_still_open(services: Services, session: AsyncSession, event: CaseStillOpen) -> None:
    case = await _case(session, event.case_id)
    await services.tell_officers(
        session, lambda lang: _reminder(services, case, lang), kind="reminder", case_id=case.id
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


async def _verification_overdue(
    services: Services, session: AsyncSession, event: VerificationOverdue
) -> None:
    """One message lists every case waiting for verification (it replaces the last one)."""
    await digests.refresh(services, session, digests.VERIFY)


# --- what the outbox could not do ---------------------------------------------------------------


async def _sends_in_doubt(services: Services, session: AsyncSession, event: SendsInDoubt) -> None:
    await _officer_notice(services, session, "restart_duplicates", count=event.count)


async def _delivery_failed(
    services: Services, session: AsyncSession, event: DeliveryFailed
) -> None:
    await _officer_notice(
        services, session, "delivery_dead", case_id=event.case_id, dedupe=f"dead:{event.row_id}",
        ref=ref(event.case_id or 0), chat=event.chat_id, error=event.error[:200],
    )  # fmt: skip


async def _photo_stuck(services: Services, session: AsyncSession, event: PhotoStuck) -> None:
    await _officer_notice(
        services, session, "photo_stuck", case_id=event.case_id, dedupe=f"stuck:{event.row_id}",
        ref=ref(event.case_id or 0), group=event.group_title, chat=event.chat_id,
    )  # fmt: skip


async def _officer_notice(
    services: Services,
    session: AsyncSession,
    key: str,
    *,
    case_id: int | None = None,
    dedupe: str | None = None,
    **values: Any,
) -> None:
    """One text (``key`` with ``values``) to every officer chat, each in its language."""
    await services.tell_officers(
        session, lambda lang: Out(say(lang, key, **values)), kind="notice", case_id=case_id,
        dedupe=dedupe,
    )  # fmt: skip


TELLERS: dict[type, Teller] = {
    CaseOpened: _case_opened,
    GroupsAlerted: _groups_alerted,
    StageReached: _stage_reached,
    ExitsUnwatched: _exits_unwatched,
    CaseVerified: _case_verified,
    SightingRecorded: _sighting_recorded,
    SightingJudged: _sighting_judged,
    CloseRequested: _close_requested,
    CaseClosed: _case_closed,
    AlertOutlivedCase: _alert_outlived_case,
    GroupRegistered: _group_registered,
    GroupDecided: _group_decided,
    GroupUnregistered: _group_unregistered,
    RecipientGone: _recipient_gone,
    ChildFound: _child_found,
    ChildMatched: _child_matched,
    CaseStillOpen: _case_still_open,
    VerificationOverdue: _verification_overdue,
    SendsInDoubt: _sends_in_doubt,
    DeliveryFailed: _delivery_failed,
    PhotoStuck: _photo_stuck,
}
