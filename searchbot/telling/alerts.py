"""The groups' alerts: one row per group, nearest first, each with its job and buttons; and
their retraction when the case closes."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import playbooks
from searchbot.cases.playbooks import Job
from searchbot.cases.services import Services
from searchbot.domain.clock import local_hhmm
from searchbot.domain.events import (
    AlertOutlivedCase,
    CaseClosed,
    CloseRequested,
    GroupsAlerted,
)
from searchbot.domain.grid import GroupPoint
from searchbot.domain.messages import Button, Out
from searchbot.models import (
    Case,
    CaseOutcome,
    OutboxMessage,
    OutboxStatus,
    Sighting,
)
from searchbot.models import queries as q
from searchbot.models.outbox import ALERTS, RETRACT, Kind, delete_op, enqueue, mark
from searchbot.operations import after_action
from searchbot.telling import broadcast
from searchbot.telling.audiences import (
    case_of,
    tell_officers,
    to_family,
)
from searchbot.words.buttons import Checked, Close, Verify
from searchbot.words.cards import (
    alert_caption,
    distance_text,
)
from searchbot.words.texts import ref, say


async def groups_alerted(services: Services, session: AsyncSession, event: GroupsAlerted) -> None:
    """Each group: its alert (photo, public description, distance, its job, the buttons),
    nearest first. One bulk insert: thousands of groups can join in one ring.

    The rank interleaves cases: a case's k-th nearest group of a ring ranks with every other
    case's k-th of the same ring, and every first ring ranks before any second ring, so a
    600-group ring in one station does not hold back another station's first alerts."""
    if not event.targets:
        return
    case = await case_of(session, event.case_id)
    seen = await session.get(Sighting, event.seen_sighting_id) if event.seen_sighting_id else None
    jobs = await playbooks.jobs(services, session, case, event.targets, event.radius_m)
    paid = await broadcast.paid_alerts(services, session, event.case_id, len(event.targets))
    shared: dict[tuple[str, ...], Any] = {}  # what the ring's alerts share, each made once
    first = ring_of(services, event.radius_m) * RING_SPAN
    await session.exec(  # type: ignore[call-overload]
        insert(OutboxMessage),
        params=[
            _alert_row(services, case, group, distance, token, seen, jobs.get(group.id), shared)
            # not the distance (see above); paid: the nearest, as far as the case's budget reaches
            | {"rank": first + place, "paid": place < paid}
            for place, ((distance, group), token) in enumerate(
                zip(event.targets, event.tokens, strict=True)
            )
        ],
    )
    mark(session)


RING_SPAN = 1_000_000.0  # ranks one ring's alerts take: more than any ring has groups


def ring_of(services: Services, radius_m: float) -> int:
    """Which ring of the schedule ``radius_m`` is (a re-centred ring is the first's)."""
    stages = services.settings.escalation
    return next((i for i, s in enumerate(stages) if s.radius_m >= radius_m - 0.5), len(stages))


def _alert_row(
    services: Services,
    case: Case,
    group: GroupPoint,
    distance: float,
    token: str,
    seen: Sighting | None,
    job: Job | None = None,
    shared: dict[tuple[str, ...], Any] | None = None,
) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "chat_id": group.chat_id,
        "kind": Kind.ALERT,
        "lane": ALERTS,
        "rank": distance,  # nearest first (groups_alerted ranks a ring's rows by place)
        "payload": alert_out(
            services, case, group.language, distance, token, seen, job, group.chat_id, shared
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
    shared: dict[tuple[str, ...], Any] | None = None,
) -> Out:
    """The alert for one group: the photo, the public description, the group's job, and the
    buttons (seen, checked, the guards' exits, found a child). The "I saw them" link carries
    the alert's own ``token``, never the case number; the photo is protected from forwarding
    and saving unless the station turned that off. ``shared``: what the ring's alerts made so
    far that others may share (thousands of groups share a few dozen captions, by language,
    distance as shown and job; and each language's Checked button)."""
    now, show_name = services.now(), services.settings.alert_show_name
    work = job.text if job else ""
    made = shared if shared is not None else {}
    if seen is None:
        key = ("caption", lang, distance_text(distance, lang), work)
        if key not in made:
            made[key] = alert_caption(case, lang, distance, now, show_name, job=work)
        caption = made[key]
        photo = case.photo_file_ids[0] if case.photo_file_ids else None
    else:
        headline = say(lang, "alert_seen_here", time=local_hhmm(seen.seen_at))
        where = case.model_copy(
            update={"place_text": seen.place_text, "lat": seen.lat, "lon": seen.lon,
                    "last_seen_at": seen.seen_at}
        )  # fmt: skip
        caption = alert_caption(where, lang, distance, now, show_name, headline + "\n", work)
        photo = seen.photo_file_id or (case.photo_file_ids[0] if case.photo_file_ids else None)
    if ("checked", lang) not in made:
        made["checked", lang] = Checked(case.id or 0).button(say(lang, "btn_checked"))
    buttons = (
        (Button(say(lang, "btn_seen"), url=services.links.deep_link(f"seen_{token}")),),
        (made["checked", lang],),
        *(job.buttons if job else ()),
    )
    if chat_id is not None:
        found = Button(
            say(lang, "btn_found_child"), url=services.links.deep_link(f"found_{chat_id}")
        )
        buttons = (*buttons, (found,))
    return Out(
        text=caption, photo=photo, buttons=buttons, protect=services.settings.protect_content
    )


async def close_requested(services: Services, session: AsyncSession, event: CloseRequested) -> None:
    """Officers: the family's request with Confirm and Verify buttons, once per outcome."""
    case_id, outcome, note = event.case_id, event.outcome, event.note

    def render(lg: str) -> Out:
        outcome_text = say(lg, f"outcome_{outcome}")
        text = say(lg, "close_request_officers", ref=ref(case_id), outcome=outcome_text)
        if note:
            text += f"\n“{html.escape(note, quote=False)}”"
        confirm = Close(case_id, outcome).button(say(lg, "btn_confirm_close", outcome=outcome_text))
        return Out(text, buttons=((confirm,), (Verify(case_id).button(say(lg, "btn_verify")),)))

    await tell_officers(
        services,
        session,
        render,
        kind=Kind.CARD,
        case_id=case_id,
        dedupe=f"close-ask:{case_id}:{outcome}",
    )


async def case_closed(services: Services, session: AsyncSession, event: CaseClosed) -> None:
    """Each alerted group: its alert photo deleted and a closing notice in its place. The
    family: the outcome. Officers: the outcome, who closed it, then the after-action page."""
    case = await case_of(session, event.case_id)
    for alert in await q.sent_alerts(session, event.case_id):
        await retract(services, session, case, alert)
    outcome, note, case_ref = event.outcome, event.note, ref(event.case_id)
    family_key = "closed_family_found" if outcome == CaseOutcome.FOUND else "closed_family"
    family = say(
        case.language, family_key, ref=case_ref, outcome=say(case.language, f"outcome_{outcome}"),
        note=f"{note} " if note else "",
    )  # fmt: skip
    await to_family(services, session, case, Out(family))

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

    await tell_officers(  # the stations that joined hear it too
        services, session, render, kind=Kind.NOTICE, case_id=case.id, joined=True
    )
    await session.flush()  # the closing's own audit entry is part of the after-action page
    report = await after_action.build(session, event.case_id, services.settings)
    if report is not None:
        await tell_officers(
            services, session, lambda lang: Out(after_action.render(report, lang)), kind=Kind.NOTICE,
            case_id=event.case_id, dedupe=f"after-action:{event.case_id}",
        )  # fmt: skip


async def alert_outlived_case(
    services: Services, session: AsyncSession, event: AlertOutlivedCase
) -> None:
    """The group: that late alert taken back like the others."""
    case = await case_of(session, event.case_id)
    alert = await session.get(OutboxMessage, event.outbox_id)
    if alert is not None:
        await retract(services, session, case, alert)


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
        session, alert.chat_id, delete_op(alert.message_id, notice), kind=Kind.RETRACT,
        case_id=case.id, lane=RETRACT, dedupe_key=f"retract:{alert.id}", now=now,
    )  # fmt: skip
    await enqueue(  # after every photo of the closing: a wide ring's photos leave twice as fast
        session, alert.chat_id, Out(text=notice), kind=Kind.CLOSING_NOTICE,
        case_id=case.id, lane=RETRACT, rank=1.0, dedupe_key=f"notice:{alert.id}", now=now,
    )  # fmt: skip
