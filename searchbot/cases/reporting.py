"""Reporting a missing person: the family's dialogue, from the first photo to the alert.

Every answer is checked where it is given, with a re-ask that says what is expected, so a
parent in panic is never stuck and never loses what they already typed (the draft is a row).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import answers, escalation, exits
from searchbot.cases import dialogue as dlg
from searchbot.cases.answers import Input, Spot
from searchbot.cases.dialogue import Check, Flow, Gather, Step
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.events import CaseOpened
from searchbot.domain.messages import Answer, Out
from searchbot.domain.redaction import has_contact
from searchbot.models import Case, Dialogue, Person
from searchbot.models import queries as q
from searchbot.words.buttons import Choice
from searchbot.words.cards import CAPTION_LIMIT, TEXT_LIMIT, case_card, distance_text, fit
from searchbot.words.texts import Raw, ref, say

NAME_MAX = 64
DESCRIPTION_MAX = 1000
AGE_MAX = 120
PHOTOS_MAX = 3


async def start(services: Services, actor: Actor) -> Answer:
    """/report: begin a new report (replacing an unfinished dialogue)."""
    async with services.sessions() as session:
        refusal = await _refusal(services, session, actor)
        if refusal:
            return Answer().say(say(actor.language, refusal))
        answer = await dlg.start(services, session, actor, FLOW, photos=[])
        await session.commit()
    return answer


async def _refusal(services: Services, session: AsyncSession, actor: Actor) -> str | None:
    person = await session.get(Person, actor.user_id)
    if person is not None and person.blocked:
        return "blocked_user"
    recent = await q.reports_since(session, actor.user_id, services.now() - timedelta(hours=1))
    limit = services.settings.reports_per_hour
    if recent >= limit and not await services.officers.is_officer(session, actor):
        return "report_limit"
    return None


# --- the questions ---------------------------------------------------------------------------


def _place_found(lang: str, spot: Spot) -> list[Out]:
    """A typed place the bot resolved, shown back on the map before it is kept: better to ask
    than to pin a child on the wrong gate."""
    found = say(lang, "place_found", place=spot.label)
    yes_no = (
        (Choice("yes").button(say(lang, "btn_yes")),),
        (Choice("no").button(say(lang, "btn_no")),),
    )
    return [Out(found, location=(spot.lat or 0.0, spot.lon or 0.0)), Out(found, buttons=yes_no)]


STEPS: tuple[Step[Any], ...] = (
    Step("photo", "photos", "ask_photo", answers.photo,
         gather=Gather(PHOTOS_MAX, saved="photo_saved", full="photo_limit")),
    Step("name", "name", "ask_name", answers.words(NAME_MAX),
         reask={"text_expected": "name_expected"}),
    Step("age", "age", "ask_age", answers.age(AGE_MAX)),
    Step("sex", "sex", "ask_sex", answers.sex, buttons=answers.sex_buttons),
    Step("description", "description", "ask_description", answers.words(DESCRIPTION_MAX),
         values={"max": DESCRIPTION_MAX}, reask={"text_expected": "description_expected"}),
    Step("place", "place", "ask_place", answers.place(),
         keep=lambda spot: {"place": list(spot)},
         echo=lambda lang, spot: say(lang, "place_set", place=spot.label),
         check=Check(guessed=lambda given: given.location is None, shows=_place_found,
                     revive=answers.revived_spot)),
    Step("time", "seen_at", "ask_time", answers.when, buttons=answers.now_button),
    Step("contact", "contact", "ask_contact", answers.phone, skip=lambda services: None,
         buttons=answers.skip_button),
)  # fmt: skip
FIELDS = tuple(step.name for step in STEPS)  # what the summary's Edit offers, in this order


async def _to_summary(services: Services, actor: Actor, dialogue: Dialogue) -> Answer:
    """After the last question (or an edited one): the draft, to confirm, edit or cancel."""
    dlg.advance(services, dialogue, "summary")
    return Answer().add(_summary_out(services, dialogue, actor.language))


def _summary_out(services: Services, dialogue: Dialogue, lang: str) -> Out:
    return Out(
        _draft_card(services, dialogue, lang),
        photo=(dialogue.data.get("photos") or [None])[0],
        buttons=(
            (Choice("confirm").button(say(lang, "btn_confirm")),),
            (
                Choice("edit").button(say(lang, "btn_edit")),
                Choice("cancel").button(say(lang, "btn_cancel")),
            ),
        ),
    )


async def _summary(services: Services, actor: Actor, dialogue: Dialogue, given: Input) -> Answer:
    """Confirm opens the case; Edit offers every field, and the field edited brings the
    summary back; Cancel drops the draft; anything else shows the summary again."""
    lang, choice = actor.language, given.choice or ""
    edited = FLOW.step(choice.removeprefix("edit_")) if choice.startswith("edit_") else None
    if choice == "confirm":
        return await confirm(services, actor, dialogue)
    if choice == "edit":
        buttons = tuple(
            tuple(Choice(f"edit_{f}").button(say(lang, f"field_{f}")) for f in FIELDS[i : i + 2])
            for i in range(0, len(FIELDS), 2)
        )
        return Answer().say(say(lang, "edit_which"), buttons=buttons)
    if edited is not None:
        return dlg.revisit(services, dialogue, edited, lang)
    if choice == "cancel":
        async with services.sessions() as session:
            await session.delete(await session.merge(dialogue))
            await session.commit()
        return Answer().say(say(lang, "cancelled"))
    return Answer().add(_summary_out(services, dialogue, lang))


FLOW = Flow("report", STEPS, finish=_to_summary, own={"summary": _summary})


def _draft_card(services: Services, dialogue: Dialogue, lang: str) -> str:
    now = services.now()
    draft = _case_from(dialogue, 0, 0, lang, now)
    limit = CAPTION_LIMIT if draft.photo_file_ids else TEXT_LIMIT
    return fit(
        lambda d: say(lang, "summary", card=Raw(case_card(draft, lang, now, d))),
        draft.description or "",
        limit,
    )


def _case_from(dialogue: Dialogue, user_id: int, chat_id: int, lang: str, now: datetime) -> Case:
    data = dialogue.data
    label, lat, lon = data["place"]
    return Case(
        reporter_user_id=user_id,
        reporter_chat_id=chat_id,
        language=lang,
        name=data.get("name"),
        age=data.get("age"),
        sex=data.get("sex"),
        description=data.get("description"),
        photo_file_ids=list(data.get("photos", [])),
        place_text=label,
        lat=lat,
        lon=lon,
        center_lat=lat,
        center_lon=lon,
        last_seen_at=answers.moment_of(data["seen_at"]),
        contact=data.get("contact"),
        created_at=now,
    )


# --- confirming ------------------------------------------------------------------------------


async def confirm(services: Services, actor: Actor, dialogue: Dialogue) -> Answer:
    """Create the case and fire its first ring; everyone it concerns hears in the same
    transaction (``notify``)."""
    lang = actor.language
    if not actor.in_private:  # the family's news goes to the chat the report is confirmed in
        return Answer(toast=say(lang, "private_only"))
    async with services.sessions() as session:
        refusal = await _refusal(services, session, actor)
        if refusal:
            return Answer().say(say(lang, refusal))
        case = _case_from(dialogue, actor.user_id, actor.chat_id, lang, services.now())
        owner = (await services.officers.directory(session)).locate(case.lat, case.lon)
        case.station_id = owner.id if owner is not None else None  # the last-seen place's
        exits.schedule(services, case)
        session.add(case)
        await session.flush()
        assert case.id is not None
        await services.audit.record(session, actor.user_id, "report", case.id)
        count = await escalation.open_case(services, session, case)
        opened = CaseOpened(case.id, actor.user_id, actor.name)
        await services.publish(session, opened)
        await session.delete(await session.merge(dialogue))
        await session.commit()
    radius = Raw(distance_text(services.settings.escalation[0].radius_m, lang))
    key = (
        "case_opened_held" if count is None else "case_opened" if count else "case_opened_no_groups"
    )
    answer = Answer().say(say(lang, key, ref=ref(case.id), count=count, radius=radius))
    words = (case.name, case.description, case.place_text)
    if any(has_contact(text, also=(case.contact,)) for text in words):
        answer.say(say(lang, "contact_police_only", ref=ref(case.id)))  # once, at the report
    return answer
