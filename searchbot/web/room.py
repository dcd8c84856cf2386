"""The command room's use cases: what the page and the API read and do, ``/screen`` and
``/map``. Actions call the very use cases the chat buttons call (same permission checks), then
put the case's fresh card into the officer's private chat, so the chat and the map agree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import closing, desk, sightings
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.clock import local_hhmm
from searchbot.domain.messages import Answer, Out
from searchbot.models import Case, CaseStatus, Sighting
from searchbot.models import queries as q
from searchbot.models.outbox import PEOPLE, Kind, enqueue
from searchbot.models.stations import reached
from searchbot.operations import drawing
from searchbot.settings import Settings
from searchbot.web import auth, layers, picture
from searchbot.web.auth import Viewer
from searchbot.words.texts import CATALOGS, EN, ref, say

# texts the page shows, besides its own room_* messages
PAGE_TEXTS = (
    "btn_verify", "btn_escalate", "btn_close_found", "btn_close_false", "btn_close_withdrawn",
    "btn_credible", "btn_not_credible", "role_merchant", "role_guard", "role_volunteer",
)  # fmt: skip


def screen_url(settings: Settings, token: str) -> str | None:
    if not settings.web_url:
        return None
    return f"{settings.web_url}/screen?token={quote(token)}"


def page_texts(lang: str) -> dict[str, str]:
    """The page's labels in ``lang``, from the catalogs."""
    catalog = CATALOGS.get(lang, EN)
    keys = [k for k in EN if k.startswith("room_")] + list(PAGE_TEXTS)
    return {key: catalog.get(key) or EN[key] for key in keys}


async def _visible(services: Services, session: AsyncSession, viewer: Viewer, case: Case) -> bool:
    """Whether the viewer's stations own or joined the case (per station, like /cases)."""
    if viewer.actor is not None:
        return await services.officers.may_follow(session, viewer.actor, case)
    if viewer.stations is None or case.station_id in viewer.stations:
        return True
    joined = {r.station_id for r in await reached(session, case.id or 0) if r.joined_at}
    return bool(joined & viewer.stations)


async def may_see(services: Services, viewer: Viewer, case_id: int) -> bool:
    """Whether news of case ``case_id`` may reach this viewer's live stream: a station hears
    of its own and joined cases only, as its lists show them."""
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        return case is not None and await _visible(services, session, viewer, case)


async def open_cases(services: Services, viewer: Viewer) -> list[dict[str, Any]]:
    now = services.now()
    async with services.sessions() as session:
        return [
            await layers.case_summary(
                services.settings, session, case, viewer.language, now, personal=viewer.personal
            )
            for case in await q.open_cases(session)
            if await _visible(services, session, viewer, case)
        ]


async def case_layers(services: Services, viewer: Viewer, case_id: int) -> dict[str, Any] | None:
    """One case with every layer; None when there is no such case (or, for the screen, when
    it is no longer open: a screen shows the searches in progress)."""
    async with services.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None or (not viewer.personal and case.status != CaseStatus.OPEN):
            return None
        if not await _visible(services, session, viewer, case):
            return None
        found = await layers.of_case(
            services.settings, session, case, viewer.language, services.now(),
            personal=viewer.personal,
        )  # fmt: skip
    data = found.to_json()
    data["can_act"] = viewer.personal and case.status == CaseStatus.OPEN
    return data


async def act(
    services: Services, actor: Actor, action: str, number: int, value: str = ""
) -> dict[str, Any]:
    """Verify, widen, close or judge from the page; returns what the chat would have shown."""
    answer: Answer
    case_id: int | None = number
    if action == "verify":
        answer = await desk.verify(services, actor, number)
    elif action == "escalate":
        answer = await desk.escalate(services, actor, number)
    elif action == "close":
        answer = await closing.close(services, actor, number, value)
    else:
        answer = await sightings.judge(services, actor, number, value == "1")
        case_id = await _case_of_sighting(services, number)
    message = answer.toast or next((m.text for m in answer.messages if m.text), "")
    if case_id is not None:
        await _card_to_chat(services, actor, case_id)
    return {"message": message}


async def _case_of_sighting(services: Services, sighting_id: int) -> int | None:
    async with services.sessions() as session:
        sighting = await session.get(Sighting, sighting_id)
        return sighting.case_id if sighting else None


async def _card_to_chat(services: Services, actor: Actor, case_id: int) -> None:
    """The case card as ``/case`` shows it, into the officer's private chat (through the
    outbox, like every other message)."""
    card = await desk.show_case(services, actor, case_id)
    async with services.sessions() as session:
        for out in card.messages:
            await enqueue(
                session, actor.user_id, out, kind=Kind.CARD, case_id=case_id,
                lane=PEOPLE, now=services.now(),
            )  # fmt: skip
        await session.commit()


# --- the chat commands ---------------------------------------------------------------------


async def screen(services: Services, actor: Actor, revoke: bool) -> Answer:
    """``/screen``: a read-only link for the station's screen; ``/screen revoke``: end them."""
    lang = actor.language
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            return Answer().say(say(lang, "officers_only"))
        stations = await services.officers.stations_for(session, actor)  # what it shows
    if not services.settings.web_url:
        return Answer().say(say(lang, "room_off"))
    if revoke:
        await auth.revoke_screens(services, actor.user_id)
        return Answer().say(say(lang, "room_screen_revoked"))
    token, expires = await auth.screen_token(services, lang, stations)
    url = screen_url(services.settings, token) or ""
    async with services.sessions() as session:
        await services.audit.record(session, actor.user_id, "screen_link")
        await session.commit()
    return Answer().say(say(lang, "room_screen_link", url=url, until=local_hhmm(expires)))


async def map_picture(services: Services, actor: Actor, case_id: int) -> Answer:
    """``/map N``: the map as a picture."""
    lang = actor.language
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            text = say(lang, "officers_only")
            return Answer(toast=text).say(text)
        case = await session.get(Case, case_id)
        if case is None:
            return Answer().say(say(lang, "no_such_case", ref=ref(case_id)))
        if not await services.officers.may_follow(session, actor, case):
            text = say(lang, "not_your_station", ref=ref(case_id))
            return Answer(toast=text).say(text)
        drawn = await layers.of_case(
            services.settings, session, case, lang, services.now(), personal=False
        )
    labels = {
        "state_alerted": say(lang, "room_state_alerted"),
        "state_checked": say(lang, "room_state_checked"),
        "state_waiting": say(lang, "room_state_waiting"),
        "state_gone": say(lang, "room_state_gone"),
        "last_seen": say(lang, "room_last_seen"),
    }
    labels["title"] = (
        f"{drawn.ref} · {say(lang, 'room_stage', stage=drawn.stage, stages=drawn.stages)}"
    )
    png = await drawing.drawn(picture.map_png, drawn, labels, language=lang)
    caption = say(lang, "room_map_caption", ref=ref(case_id))
    return Answer(toast=caption).add(Out(text=caption, upload=png, upload_name="map.png"))
