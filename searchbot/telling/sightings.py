"""Who hears of a sighting, in which words: officers in full, the family in full only once
the case is verified (or an officer vouches for it), the sighter never of the family."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.clock import minutes_between
from searchbot.domain.events import (
    SightingJudged,
    SightingRecorded,
)
from searchbot.domain.grid import distance_m
from searchbot.domain.messages import Button, Out
from searchbot.domain.redaction import redact
from searchbot.models import (
    Case,
    Sighting,
    SightingSource,
)
from searchbot.models import queries as q
from searchbot.models.outbox import PEOPLE, Kind, enqueue
from searchbot.telling.audiences import (
    case_of,
    officer_notice,
    person_label,
    pin_for_officers,
    tell_officers,
    to_family,
)
from searchbot.words.buttons import Close, Judge
from searchbot.words.cards import (
    distance_text,
)
from searchbot.words.texts import Raw, ref, say


async def sighting_recorded(
    services: Services, session: AsyncSession, event: SightingRecorded
) -> None:
    """Officers hear every sighting in full, with who sent it. The family hears it in full only
    when it came from an alerted group and the case is verified; while the case is unverified
    the family is only told that one came in (the reporter may be the person someone fled
    from), and a ``/seen N`` typed by anyone never reaches the family unless an officer marks
    it credible. The sighter never hears of the family."""
    sighting = await session.get(Sighting, event.sighting_id)
    assert sighting is not None
    case = await case_of(session, sighting.case_id)
    chat = sighting.group_chat_id
    group = await q.group_by_chat(session, chat) if chat is not None else None
    held = None
    if sighting.source == SightingSource.COMMAND:
        held = "sighting_outside_officers"
    elif case.verified_at is None:
        held = "sighting_held_officers"
        await to_family(
            services, session, case,
            Out(say(case.language, "sighting_held_family", ref=ref(case.id or 0))),
        )  # fmt: skip
    else:
        await share_with_family(services, session, case, sighting)
    sighter = person_label(sighting.reporter_name or "", sighting.reporter_user_id)
    if sighting.contact:
        sighter += f" ☎️ {sighting.contact}"

    def render(lang: str) -> Out:
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
        return Out(text=text, photo=sighting.photo_file_id, buttons=buttons)

    await tell_officers(services, session, render, kind=Kind.SIGHTING, case_id=case.id, joined=True)
    if sighting.lat is not None and sighting.lon is not None:
        point = (sighting.lat, sighting.lon)
        await pin_for_officers(services, session, point, case.id, kind=Kind.SIGHTING, joined=True)


async def sighting_judged(services: Services, session: AsyncSession, event: SightingJudged) -> None:
    """Credible: the family has it in full (an officer vouches for it). Officers: the verdict
    and how many groups the re-centred search reached."""
    sighting = await session.get(Sighting, event.sighting_id)
    assert sighting is not None
    case = await case_of(session, sighting.case_id)
    if event.credible:
        await share_with_family(services, session, case, sighting)
    key = "credible_marked" if event.credible else "not_credible_marked"
    await officer_notice(
        services, session, key, case_id=case.id, ref=ref(case.id or 0), by=event.by_name,
        count=event.alerted, joined=True,
    )  # fmt: skip


async def share_with_family(
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
            session, chat_id, out, kind=Kind.SIGHTING, case_id=case.id, lane=PEOPLE,
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
