"""Sightings: someone saw the missing person. Three ways in (a reply to an alert in a group,
the alert's "I saw them" deep link, ``/seen N``). The officers hear every one at once, with a
pin, the distance from the last-seen place and the minutes since; the family hears those from
the alerted groups in full once the case is verified (or an officer marks one credible).

The family never learns who the sighter is; officers do (to call them back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import answers, escalation
from searchbot.cases import dialogue as dlg
from searchbot.cases.answers import Spot
from searchbot.cases.dialogue import Aside, Flow, Step
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.events import SightingJudged, SightingRecorded
from searchbot.domain.messages import Answer
from searchbot.models import Case, CaseStatus, Dialogue, Group, Person, Sighting, SightingSource
from searchbot.models import queries as q
from searchbot.words.texts import ref, say

NOTE_MAX = 1000


@dataclass(frozen=True)
class Report:
    """What a sighter told us."""

    lat: float | None = None
    lon: float | None = None
    place_text: str | None = None
    photo: str | None = None
    note: str | None = None
    seen_at: datetime | None = None
    contact: str | None = None


async def begin(services: Services, actor: Actor, case_id: int) -> Answer:
    """``/seen N`` (or an old ``seen_N`` link): anyone may type a number, so what they send goes
    to the officers only. The answer is the same whether case N is open, closed or unknown, so
    numbers tried one after another tell nothing."""
    return await _open(services, actor, case_id, SightingSource.COMMAND)


async def begin_from_link(services: Services, actor: Actor, token: str) -> Answer:
    """The alert's "I saw them" link (``seen_<token>``): the token names one alerted group's
    alert, so the sighting follows the family's rules. A forged or stale token gets the same
    dialogue and the same thanks, and nothing reaches anyone."""
    async with services.sessions() as session:
        alert = await q.alert_by_token(session, token) if _TOKEN.fullmatch(token) else None
        group = await session.get(Group, alert.group_id) if alert else None
    if alert is None or group is None:
        return await _open(services, actor, None, SightingSource.DEEPLINK)
    return await _open(services, actor, alert.case_id, SightingSource.DEEPLINK, group.chat_id)


_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,32}")


async def _open(
    services: Services,
    actor: Actor,
    case_id: int | None,
    source: SightingSource,
    group_chat_id: int | None = None,
) -> Answer:
    async with services.sessions() as session:
        person = await session.get(Person, actor.user_id)
        if person is not None and person.blocked:  # about the person, not the case
            return Answer().say(say(actor.language, "blocked_user"))
        answer = await dlg.start(
            services, session, actor, FLOW,
            case_id=case_id, source=source, group_chat_id=group_chat_id,
        )  # fmt: skip
        await session.commit()
    return answer


async def _finish(services: Services, actor: Actor, dialogue: Dialogue) -> Answer:
    """Record the sighting if its case is open; thank the sighter the same way either way."""
    data = dialogue.data
    case_id, chat_id = data.get("case_id"), data.get("group_chat_id")
    source = (
        SightingSource.COMMAND
        if data.get("source") == SightingSource.COMMAND
        else SightingSource.DEEPLINK
    )
    report = Report(
        data.get("lat"), data.get("lon"), data.get("place_text"), data.get("photo"),
        data.get("note"), answers.moment_of(data["seen_at"]), data.get("contact"),
    )  # fmt: skip
    async with services.sessions() as session:
        await session.delete(await session.merge(dialogue))
        group = await q.group_by_chat(session, int(chat_id)) if chat_id is not None else None
        try:
            if case_id is not None:
                await record(services, session, actor, int(case_id), source, report, group)
        except Refused as refusal:
            await session.commit()  # the dialogue ends either way
            if source == SightingSource.COMMAND and refusal.key == "sighting_limit":
                # a refusal only an existing open case gives would tell numbers apart
                return Answer().say(say(actor.language, "seen_thanks"))
            return Answer().say(say(actor.language, refusal.key))
        await session.commit()
    return Answer().say(say(actor.language, "seen_thanks"))


def _kept_place(spot: Spot) -> dict[str, Any]:
    """Where it was seen: the pin (none for words no landmark knows) and its name."""
    return {"lat": spot.lat, "lon": spot.lon, "place_text": spot.label}


# The sighting dialogue: place -> photo -> note -> time -> recorded.
FLOW = Flow(
    "seen",
    (
        Step("place", "place", "seen_ask_place", answers.place(anywhere=True), keep=_kept_place,
             reask={"place_expected": "seen_ask_place"}),
        Step("photo", "photo", "seen_ask_photo", answers.photo, skip=lambda services: None,
             buttons=answers.skip_button, reask={"photo_expected": "seen_ask_photo"}),
        Step("note", "note", "seen_ask_note", answers.words(NOTE_MAX),
             skip=lambda services: None, buttons=answers.skip_button,
             reask={"text_expected": "seen_note_expected"}),
        Step("time", "seen_at", "seen_ask_time", answers.when,
             skip=lambda services: services.now().isoformat(), buttons=answers.now_button,
             reask={"time_expected": "seen_ask_time"}),
    ),
    finish=_finish,
    # a phone shared at any point: for the officers to call back, never for the family
    aside=Aside(lambda given: given.contact is not None, "contact", answers.phone,
                saved="seen_contact_saved", reask={"contact_invalid": "seen_contact_invalid"}),
)  # fmt: skip


async def from_group_reply(
    services: Services, actor: Actor, message_id: int, replied_text: str, report: Report
) -> Answer | None:
    """A reply to one of the bot's alerts in a group; None when the replied message is not an
    alert (then the group's talk is none of our business)."""
    async with services.sessions() as session:
        case_id = await _alerted_case(session, actor.chat_id, message_id, replied_text)
        if case_id is None:
            return None
        group = await q.group_by_chat(session, actor.chat_id)
        lang = group.language if group else actor.language
        if report.lat is None and not report.photo and not report.note:  # a voice, a sticker...
            return Answer().say(say(lang, "reply_how"))
        try:
            recorded = await record(
                services, session, actor, case_id, SightingSource.REPLY, report, group
            )
        except Refused as refusal:
            return Answer().say(say(lang, refusal.key))
        await session.commit()
    return Answer().say(say(lang, "seen_thanks" if recorded else "seen_case_closed"))


_CASE_REF = re.compile(r"#(\d+)")


async def _alerted_case(
    session: AsyncSession, chat_id: int, message_id: int, replied_text: str
) -> int | None:
    """The case of the alert replied to: by its message id, or, when the reply came before the
    dispatcher recorded that id, by the ``#N`` in the bot's own caption if this group was
    alerted for N."""
    alert = await q.alert_for_message(session, chat_id, message_id)
    if alert is not None:
        return alert.case_id
    match = _CASE_REF.search(replied_text)
    group = await q.group_by_chat(session, chat_id)
    if match is None or group is None or group.id is None:
        return None
    case_id = int(match.group(1))
    return case_id if await q.alert_of_group(session, case_id, group.id) else None


async def record(
    services: Services,
    session: AsyncSession,
    actor: Actor,
    case_id: int,
    source: SightingSource,
    report: Report,
    group: Group | None = None,
) -> Sighting | None:
    """Store the sighting; the officers hear of it, and the family as far as it may (see
    ``notify``). None if the case is closed. ``source``: reply, deeplink (both from an alerted
    group) or command (``/seen N``, anyone). Raises Refused when this person may not add one
    (blocked, or over the per-case limit)."""
    case = await session.get(Case, case_id)
    if case is None or case.status != CaseStatus.OPEN:
        return None
    await _check_allowed(services, session, actor, case_id)
    now = services.now()
    if report.place_text is None and report.lat is not None and report.lon is not None:
        place = await services.places.label(
            report.lat, report.lon, services.settings.language, session
        )
        report = replace(report, place_text=place)
    sighting = Sighting(
        case_id=case_id,
        reporter_user_id=actor.user_id,
        reporter_name=actor.name[:128],
        contact=report.contact,
        group_chat_id=group.chat_id if group else None,
        source=source,
        lat=report.lat,
        lon=report.lon,
        place_text=report.place_text,
        photo_file_id=report.photo,
        note=(report.note or "")[:NOTE_MAX] or None,
        seen_at=report.seen_at or now,
        created_at=now,
    )
    session.add(sighting)
    await session.flush()
    await services.audit.record(
        session, actor.user_id, "sighting", case_id, sighting=sighting.id, source=source
    )
    assert sighting.id is not None
    await services.publish(session, SightingRecorded(sighting.id))
    return sighting


class Refused(Exception):
    """This person may not send (more) sightings; the message key says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def _check_allowed(
    services: Services, session: AsyncSession, actor: Actor, case_id: int
) -> None:
    person = await session.get(Person, actor.user_id)
    if person is not None and person.blocked:
        raise Refused("blocked_user")
    query = select(func.count()).where(
        Sighting.case_id == case_id, Sighting.reporter_user_id == actor.user_id
    )
    if int((await session.exec(query)).one()) >= services.settings.sightings_per_case:  # type: ignore[call-overload]
        raise Refused("sighting_limit")


async def judge(services: Services, actor: Actor, sighting_id: int, credible: bool) -> Answer:
    """An officer marks a sighting credible or not. Credible: the family may have it in full;
    with a place, the search centres there, and the groups around it that were not alerted yet
    get "seen here"."""
    lang = actor.language
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            return Answer(toast=say(lang, "officers_only"))
        sighting = await session.get(Sighting, sighting_id)
        case = await session.get(Case, sighting.case_id) if sighting else None
        if sighting is None or case is None:
            return Answer(toast=say(lang, "no_such_sighting"))
        if not await services.officers.may_follow(session, actor, case):  # nor joined it
            return Answer(toast=say(lang, "not_your_station", ref=ref(case.id or 0)))
        if case.status != CaseStatus.OPEN:
            return Answer(toast=say(lang, "case_closed_already", ref=ref(case.id or 0)))
        if sighting.credible is not None:
            return Answer(toast=say(lang, "already_judged"))
        sighting.credible, sighting.judged_by = credible, actor.user_id
        session.add(sighting)
        count = await _recentre(services, session, case, sighting) if credible else 0
        await services.audit.record(
            session, actor.user_id, "sighting_judged", case.id, sighting=sighting_id,
            credible=credible, alerted=count,
        )  # fmt: skip
        judged = SightingJudged(sighting_id, credible, actor.name, count)
        await services.publish(session, judged)
        await session.commit()
    key = "credible_marked" if credible else "not_credible_marked"
    return Answer(toast=say(lang, key, ref=ref(case.id or 0), by=actor.name, count=count))


async def _recentre(services: Services, session: AsyncSession, case: Case, seen: Sighting) -> int:
    if seen.lat is None or seen.lon is None:
        return 0
    case.center_lat, case.center_lon = seen.lat, seen.lon
    session.add(case)
    first_ring = services.settings.escalation[0].radius_m
    return await escalation.alert_ring(services, session, case, first_ring, case.stage, seen)
