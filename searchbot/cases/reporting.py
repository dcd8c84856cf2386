"""Reporting a missing person: the family's dialogue, from the first photo to the alert.

Every answer is checked where it is given, with a re-ask that says what is expected, so a
parent in panic is never stuck and never loses what they already typed (the draft is a row).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import dialogue as dlg
from searchbot.cases import escalation, exits
from searchbot.cases.dialogue import Input
from searchbot.cases.places import inside
from searchbot.cases.services import Services
from searchbot.domain import phones
from searchbot.domain.actors import Actor
from searchbot.domain.clock import parse_when
from searchbot.domain.events import CaseOpened
from searchbot.domain.messages import Answer, Button, Out
from searchbot.domain.redaction import has_contact
from searchbot.models import Case, Dialogue, Person
from searchbot.models import queries as q
from searchbot.words.buttons import Choice
from searchbot.words.cards import CAPTION_LIMIT, TEXT_LIMIT, case_card, distance_text, fit
from searchbot.words.texts import Raw, ref, say

AGE = re.compile(r"[0-9]{1,3}")  # ASCII: int() would also take "³" and then fail
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")  # Chinese keyboards
NAME_MAX = 64
DESCRIPTION_MAX = 1000
PHOTOS_MAX = 3
FIELDS = ("photo", "name", "age", "sex", "description", "place", "time", "contact")

Step = Callable[[Services, Actor, Dialogue, Input, Answer], Awaitable[None]]


async def start(services: Services, actor: Actor) -> Answer:
    """/report: begin a new report (replacing an unfinished dialogue)."""
    lang = actor.language
    async with services.sessions() as session:
        refusal = await _refusal(services, session, actor)
        if refusal:
            return Answer().say(say(lang, refusal))
        dialogue = await dlg.begin(services, session, actor.user_id, "report", "photo", photos=[])
        answer = Answer()
        _ask(services, dialogue, "photo", lang, answer)
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


async def handle(services: Services, actor: Actor, dialogue: Dialogue, given: Input) -> Answer:
    """One input in the report dialogue."""
    answer = Answer()
    if given.forwarded:
        return answer.say(say(actor.language, "forwarded"))
    step = _STEPS.get(dialogue.step)
    if step is None:
        return answer.say(say(actor.language, "stale_button"))
    await step(services, actor, dialogue, given, answer)
    return answer


# --- the questions ---------------------------------------------------------------------------


def _ask(services: Services, dialogue: Dialogue, step: str, lang: str, answer: Answer) -> None:
    """Put the question for ``step`` (or the summary) into ``answer``."""
    if step == "photo":
        answer.say(say(lang, "ask_photo"))
    elif step == "name":
        answer.say(say(lang, "ask_name"))
    elif step == "age":
        answer.say(say(lang, "ask_age"))
    elif step == "sex":
        answer.say(say(lang, "ask_sex"), buttons=_sex_buttons(lang))
    elif step == "description":
        answer.say(say(lang, "ask_description", max=DESCRIPTION_MAX))
    elif step == "place":
        answer.say(say(lang, "ask_place"))
    elif step == "time":
        answer.say(say(lang, "ask_time"), buttons=((Choice("now").button(say(lang, "btn_now")),),))
    elif step == "contact":
        answer.say(
            say(lang, "ask_contact"), buttons=((Choice("skip").button(say(lang, "btn_skip")),),)
        )
    elif step == "summary":
        answer.say(
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


def _sex_buttons(lang: str) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Choice("m").button(say(lang, "btn_boy")),
            Choice("f").button(say(lang, "btn_girl")),
        ),
        (Choice("u").button(say(lang, "btn_unknown")),),
    )


def _next(
    services: Services, dialogue: Dialogue, current: str, answer: Answer, lang: str, **data: Any
) -> None:
    """Store ``data`` and go to the following question, or back to the summary when editing."""
    editing = dialogue.data.get("editing")
    following = (
        "summary"
        if editing
        else FIELDS[FIELDS.index(current) + 1]
        if current != "contact"
        else "summary"
    )
    dlg.advance(services, dialogue, following, editing=False, **data)
    _ask(services, dialogue, following, lang, answer)


async def _photo(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    lang = actor.language
    photos = list(dialogue.data.get("photos", []))
    if given.photo:
        if len(photos) >= PHOTOS_MAX:
            answer.say(
                say(lang, "photo_limit"), buttons=((Choice("next").button(say(lang, "btn_next")),),)
            )
            return
        photos.append(given.photo)
        dlg.advance(services, dialogue, "photo", photos=photos)
        answer.say(
            say(lang, "photo_saved", count=len(photos)),
            buttons=((Choice("next").button(say(lang, "btn_next")),),),
        )
    elif given.command in ("/skip", "/done", "/next") or given.choice in ("next", "skip"):
        _next(services, dialogue, "photo", answer, lang, photos=photos)
    else:
        answer.say(say(lang, "photo_expected"))


def _free_text(field: str, limit: int, expected: str) -> Step:
    """A step that takes one line of the person's own words, at most ``limit`` characters."""

    async def step(
        services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
    ) -> None:
        text = (given.text or "").strip()
        if not text or given.command or len(text) > limit:
            answer.say(say(actor.language, expected, max=limit))
            return
        _next(services, dialogue, field, answer, actor.language, **{field: text})

    return step


_name = _free_text("name", NAME_MAX, "name_expected")
_description = _free_text("description", DESCRIPTION_MAX, "description_expected")


async def _age(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    text = (given.text or "").translate(FULL_WIDTH_DIGITS).strip()
    text = text.removesuffix("岁").removesuffix("歲").strip()
    if not AGE.fullmatch(text) or not 0 <= int(text) <= 120:
        answer.say(say(actor.language, "age_expected"))
        return
    _next(services, dialogue, "age", answer, actor.language, age=int(text))


_SEX_WORDS = {
    "m": "m", "male": "m", "boy": "m", "男": "m", "男孩": "m",
    "f": "f", "female": "f", "girl": "f", "女": "f", "女孩": "f",
    "u": "u", "unknown": "u", "?": "u", "不确定": "u",
}  # fmt: skip


async def _sex(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    sex = _SEX_WORDS.get((given.choice or given.text or "").strip().lower())
    if sex is None:
        answer.say(say(actor.language, "sex_expected"), buttons=_sex_buttons(actor.language))
        return
    _next(services, dialogue, "sex", answer, actor.language, sex=sex)


async def _place(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    lang = actor.language
    if given.location:
        lat, lon = given.location
        label = given.venue or await services.places.label(lat, lon, services.settings.language)
        _accept_place(services, dialogue, answer, lang, label, lat, lon)
        return
    text = (given.text or "").strip()
    if not text or given.command:
        answer.say(say(lang, "place_expected"))
        return
    found = await services.places.lookup(text)
    place = found.place
    if place is None:
        key = "place_vague" if found.vague else "place_not_found"
        answer.say(say(lang, key, text=text[:100]))
        return
    if not inside(services.settings.service_area, place.lat, place.lon):
        answer.say(say(lang, "place_outside"))
        return
    dlg.advance(services, dialogue, "place_check", candidate=[place.label, place.lat, place.lon])
    answer.add(Out(say(lang, "place_found", place=place.label), location=(place.lat, place.lon)))
    answer.say(
        say(lang, "place_found", place=place.label),
        buttons=(
            (Choice("yes").button(say(lang, "btn_yes")),),
            (Choice("no").button(say(lang, "btn_no")),),
        ),
    )


def _accept_place(
    services: Services,
    dialogue: Dialogue,
    answer: Answer,
    lang: str,
    label: str,
    lat: float,
    lon: float,
) -> None:
    if not inside(services.settings.service_area, lat, lon):
        answer.say(say(lang, "place_outside"))
        return
    answer.say(say(lang, "place_set", place=label))
    _next(services, dialogue, "place", answer, lang, place=[label, lat, lon])


async def _place_check(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    lang = actor.language
    candidate = dialogue.data.get("candidate")
    if given.choice == "yes" and candidate:
        _accept_place(services, dialogue, answer, lang, *candidate)
    elif given.choice == "no":
        dlg.advance(services, dialogue, "place")
        _ask(services, dialogue, "place", lang, answer)
    else:  # a new location or text replaces the candidate
        dlg.advance(services, dialogue, "place")
        await _place(services, actor, dialogue, given, answer)


async def _time(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    lang, now = actor.language, services.now()
    moment = now if given.choice == "now" else parse_when(given.text or "", now)
    if moment is None:
        answer.say(
            say(lang, "time_expected"), buttons=((Choice("now").button(say(lang, "btn_now")),),)
        )
        return
    if moment > now + timedelta(minutes=2):
        answer.say(say(lang, "time_future"))
        return
    _next(services, dialogue, "time", answer, lang, seen_at=moment.isoformat())


async def _contact(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    """A phone the police can call, stored in one form (E.164); anything no one could dial,
    typed or shared (a contact card can carry any digits), is asked again."""
    lang = actor.language
    skip = ((Choice("skip").button(say(lang, "btn_skip")),),)
    if given.command == "/skip" or given.choice == "skip":
        phone: str | None = None
    elif given.contact or (given.text and any(ch.isdigit() for ch in given.text)):
        raw, shared = (given.contact, True) if given.contact else (given.text or "", False)
        phone = phones.normalise(raw, services.settings.phone_region, shared=shared)
        if phone is None or given.command:
            answer.say(say(lang, "contact_invalid"), buttons=skip)
            return
    else:
        answer.say(say(lang, "contact_expected"))
        return
    _next(services, dialogue, "contact", answer, lang, contact=phone)


async def _summary(
    services: Services, actor: Actor, dialogue: Dialogue, given: Input, answer: Answer
) -> None:
    lang = actor.language
    if given.choice == "confirm":
        answer.messages.extend((await confirm(services, actor, dialogue)).messages)
    elif given.choice == "edit":
        buttons = tuple(
            tuple(Choice(f"edit_{f}").button(say(lang, f"field_{f}")) for f in FIELDS[i : i + 2])
            for i in range(0, len(FIELDS), 2)
        )
        answer.say(say(lang, "edit_which"), buttons=buttons)
    elif given.choice and given.choice.startswith("edit_") and given.choice[5:] in FIELDS:
        field = given.choice[5:]
        extra: dict[str, Any] = {"photos": []} if field == "photo" else {}
        dlg.advance(services, dialogue, field, editing=field != "photo", **extra)
        _ask(services, dialogue, field, lang, answer)
    elif given.choice == "cancel":
        async with services.sessions() as session:
            await session.delete(await session.merge(dialogue))
            await session.commit()
        answer.say(say(lang, "cancelled"))
    else:
        _ask(services, dialogue, "summary", lang, answer)


_STEPS: dict[str, Step] = {
    "photo": _photo,
    "name": _name,
    "age": _age,
    "sex": _sex,
    "description": _description,
    "place": _place,
    "place_check": _place_check,
    "time": _time,
    "contact": _contact,
    "summary": _summary,
}


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
        last_seen_at=datetime.fromisoformat(data["seen_at"]),
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
