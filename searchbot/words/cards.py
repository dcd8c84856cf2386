"""How a case reads: the full card (officers, the family) and the public alert (groups).

The alert shows only what helps a stranger recognise the person; never the family's phone
(nor any contact detail typed into the family's words: see ``redaction``), and the name only
where the station allows it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime

from searchbot.domain.broadcast import cost_of, stars_text
from searchbot.domain.clock import local_hhmm, minutes_between
from searchbot.domain.messages import Button
from searchbot.domain.redaction import redact
from searchbot.models import Case
from searchbot.settings import Settings
from searchbot.words.buttons import Close, Escalate, MapPicture, Verify
from searchbot.words.texts import Raw, ref, say

CAPTION_LIMIT = 1024
PLACE_SHOWN = 200  # a venue title or a typed place can be anything; the card must still fit
NAME_SHOWN = 64
TEXT_LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with … when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def place_text(case: Case) -> str:
    return clip(case.place_text or f"{case.lat:.5f}, {case.lon:.5f}", PLACE_SHOWN)


def visible_length(markup: str) -> int:
    """Characters Telegram counts for an HTML text (tags dropped, entities decoded), in
    UTF-16 code units as Telegram does."""
    plain = html.unescape(_TAG.sub("", markup))
    return len(plain.encode("utf-16-le")) // 2


def distance_text(metres: float, lang: str) -> str:
    if metres < 1000:
        return say(lang, "distance_m", value=int(round(metres, -1)))
    return say(lang, "distance_km", value=f"{metres / 1000:.1f}")


def sex_text(sex: str | None, lang: str) -> str:
    return say(lang, f"sex_{sex or 'u'}")


def age_text(age: int | None, lang: str) -> str:
    return say(lang, "age", age=age) if age is not None else "?"


def when_text(moment: datetime, now: datetime, lang: str) -> str:
    return (
        say(lang, "at_time", time=local_hhmm(moment))
        + " ("
        + say(lang, "minutes_ago", minutes=minutes_between(moment, now))
        + ")"
    )


def case_card(case: Case, lang: str, now: datetime, description: str | None = None) -> str:
    """Everything the family reported: for the family and officers only. ``description``
    replaces the case's own (to fit a shortened one into a caption)."""
    return say(
        lang,
        "card",
        ref=ref(case.id) if case.id else "",
        name=clip(case.name or "", NAME_SHOWN),
        age=Raw(age_text(case.age, lang)),
        sex=Raw(sex_text(case.sex, lang)),
        description=(case.description or "") if description is None else description,
        place=place_text(case),
        when=Raw(when_text(case.last_seen_at, now, lang)),
        contact=case.contact or say(lang, "no_contact"),
    )


def case_status(
    case: Case, lang: str, settings: Settings, alerted: int, checked: int, sightings: int
) -> str:
    stages = settings.escalation
    index = max(case.stage, 0)
    return say(
        lang,
        "card_status",
        stage=case.stage + 1,
        stages=len(stages),
        radius=Raw(distance_text(stages[index].radius_m, lang)),
        alerted=alerted,
        checked=checked,
        sightings=sightings,
        verified=Raw(say(lang, "verified" if case.verified_at else "unverified")),
    ) + (" " + paid_text(case.paid_messages, lang) if case.paid_messages else "")


def paid_text(messages: int, lang: str) -> str:
    """What paid broadcast cost a case: its alerts sent paid, and their Stars."""
    return say(lang, "card_paid", count=messages, stars=stars_text(cost_of(messages)))


def alert_caption(
    case: Case,
    lang: str,
    distance_m: float,
    now: datetime,
    show_name: bool,
    headline: str = "",
    job: str = "",
) -> str:
    """The public alert, cut to Telegram's caption limit by shortening the description.
    Contact details in the family's words (name, description, place) are taken out; ``job``
    (HTML) is the group's playbook, below the alert."""
    public = public_case(case, lang)

    def build(description: str) -> str:
        return (
            headline
            + say(
                lang,
                "alert_caption",
                ref=ref(case.id or 0),
                name=f" — {clip(public.name, NAME_SHOWN)}" if show_name and public.name else "",
                age=Raw(age_text(case.age, lang)),
                sex=Raw(sex_text(case.sex, lang)),
                description=description,
                place=place_text(public),
                when=Raw(when_text(case.last_seen_at, now, lang)),
                distance=Raw(distance_text(distance_m, lang)),
            )
            + (f"\n{job}" if job else "")
        )

    return fit(build, public.description or "", CAPTION_LIMIT)


def public_case(case: Case, lang: str) -> Case:
    """A copy of ``case`` whose free text (name, description, place) strangers may read:
    phone numbers, e-mail addresses and messenger ids, the family's contact above all, out."""
    marker = say(lang, "contact_removed")

    def clean(text: str | None) -> str | None:
        return redact(text, marker, also=(case.contact,)) if text else text

    update = {"name": clean(case.name), "description": clean(case.description),
              "place_text": clean(case.place_text)}  # fmt: skip
    return case.model_copy(update=update)


def fit(build: Callable[[str], str], value: str, limit: int) -> str:
    """``build(value)``, with ``value`` shortened (ending in …) until the result fits ``limit``."""
    text = build(value)
    if len(text.encode("utf-16-le")) // 2 <= limit:  # even with its tags it fits: no need to
        return text  # strip them (a ring's thousands of captions)
    overflow = visible_length(text) - limit
    if overflow <= 0:
        return text
    keep = max(0, len(value) - overflow - 1)
    while True:
        text = build(value[:keep] + "…")
        if visible_length(text) <= limit or keep == 0:
            return text
        keep = max(0, keep - 16)


def mini_app_url(settings: Settings, case_id: int | None = None) -> str | None:
    """Where the command room's Mini App opens (Telegram adds the init data in the fragment);
    None while the command room is off."""
    if not settings.web_url:
        return None
    return f"{settings.web_url}/app" + (f"?case={case_id}" if case_id else "")


def map_buttons(settings: Settings, case_id: int, lang: str) -> tuple[Button, ...]:
    """A card's map buttons: the picture (any chat) and the Mini App, which ``Out.for_chat``
    leaves out of groups (Telegram takes it in private chats only)."""
    picture = MapPicture(case_id).button(say(lang, "btn_map_picture"))
    url = mini_app_url(settings, case_id)
    return (picture,) if url is None else (Button(say(lang, "btn_map"), web_app=url), picture)


def case_buttons(
    case_id: int, lang: str, verified: bool, settings: Settings | None = None
) -> tuple[tuple[Button, ...], ...]:
    """The officer's buttons on a case card (with the map row when ``settings`` is given)."""
    first = [Escalate(case_id).button(say(lang, "btn_escalate"))]
    if not verified:
        first.insert(0, Verify(case_id).button(say(lang, "btn_verify")))
    return (
        tuple(first),
        (
            Close(case_id, "found").button(say(lang, "btn_close_found")),
            Close(case_id, "false_alarm").button(say(lang, "btn_close_false")),
        ),
        (Close(case_id, "withdrawn").button(say(lang, "btn_close_withdrawn")),),
        *((map_buttons(settings, case_id, lang),) if settings is not None else ()),
    )


def fref(found_id: int) -> str:
    """How a found-child report is named: F7 (cases are #7)."""
    return f"F{found_id}"
