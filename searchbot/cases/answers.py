"""Reading what a person answers in a dialogue, one rule per kind of answer, whichever dialogue
asks: the family's report, the sighter's ``/seen`` and the finder's ``/found`` take an age, a
phone, a place, a time, a photo or a few words the same way, so a rule is written once and
cannot drift between them (issue 20: the finder's phone was counted in digits while the
family's was dialled, the finder's age took 岁 but not 歲).

A parser gets what was sent (an ``Input``, already stripped of Telegram) and gives back either
the answer, in the form a dialogue row can hold (JSON: numbers, strings, lists), or a
``Refusal``: the catalog key of the friendly re-ask and the values it names. A dialogue may say
a refusal in its own words (``Step.reask`` in ``dialogue``); what counts as a good answer is
decided here only. Every parser refuses a command (``/skip`` where nothing may be skipped), so
``/skip`` is read by ``skipped`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from searchbot.cases.services import Services
from searchbot.domain import phones
from searchbot.domain.clock import parse_when
from searchbot.domain.messages import Button
from searchbot.words.buttons import Choice
from searchbot.words.texts import say

T = TypeVar("T")


@dataclass(frozen=True)
class Input:
    """What a person sent in a dialogue."""

    text: str | None = None
    photo: str | None = None  # file_id of the largest size
    location: tuple[float, float] | None = None
    venue: str | None = None  # a venue's title (with ``location`` set)
    contact: str | None = None  # a shared phone number
    choice: str | None = None  # a tapped dialogue button
    other_media: bool = False  # a document, sticker, voice...
    forwarded: bool = False

    @property
    def command(self) -> str | None:
        if self.text and self.text.startswith("/"):
            return self.text.split()[0].split("@")[0].lower()
        return None


@dataclass(frozen=True)
class Refusal:
    """Not an answer to this question: ``key`` names the re-ask, ``values`` its placeholders."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)


Parser = Callable[[Services, Input], Awaitable[T | Refusal]]
Buttons = tuple[tuple[Button, ...], ...]


# --- moving on without an answer -------------------------------------------------------------

SKIP_COMMANDS = ("/skip", "/done", "/next")  # the dialogue commands (handlers.private routes)
SKIP_CHOICES = ("skip", "next")  # the Skip and Next buttons


def skipped(given: Input) -> bool:
    """Whether ``given`` asks to go on without answering: ``/skip``, ``/done`` or ``/next``
    typed, or **Skip** or **Next** tapped. Only a step that may be skipped listens."""
    return given.command in SKIP_COMMANDS or given.choice in SKIP_CHOICES


def typed(given: Input) -> str | None:
    """The words typed (or a photo's caption), without blanks around; None for nothing, for
    blanks only, or for a command."""
    text = (given.text or "").strip()
    return text if text and not given.command else None


# --- the parsers -----------------------------------------------------------------------------


def words(limit: int) -> Parser[str]:
    """Free text, at most ``limit`` characters: a name, a description, a note. Too long is
    asked again rather than cut, so nobody's words are shortened behind their back."""

    async def parse(services: Services, given: Input) -> str | Refusal:
        text = typed(given)
        if text is None or len(text) > limit:
            return Refusal("text_expected", {"max": limit})
        return text

    return parse


AGE = re.compile(r"[0-9]{1,3}")  # ASCII: int() would also take "³" and then fail
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")  # Chinese keyboards
AGE_SUFFIXES = ("岁", "歲")  # "6岁" (simplified), "6歲" (traditional)


def age(maximum: int) -> Parser[int]:
    """Whole years from 0 to ``maximum``: "6", "６", "6岁", "6 歲"."""

    async def parse(services: Services, given: Input) -> int | Refusal:
        text = (typed(given) or "").translate(FULL_WIDTH_DIGITS)
        for suffix in AGE_SUFFIXES:
            text = text.removesuffix(suffix).strip()
        if not AGE.fullmatch(text) or int(text) > maximum:
            return Refusal("age_expected", {"max": maximum})
        return int(text)

    return parse


SEX_WORDS = {
    "m": "m", "male": "m", "boy": "m", "男": "m", "男孩": "m",
    "f": "f", "female": "f", "girl": "f", "女": "f", "女孩": "f",
    "u": "u", "unknown": "u", "?": "u", "不确定": "u",
}  # fmt: skip


async def sex(services: Services, given: Input) -> str | Refusal:
    """``m``, ``f`` or ``u``: a tapped button, or a word for one."""
    chosen = SEX_WORDS.get((given.choice or given.text or "").strip().lower())
    return chosen if chosen is not None else Refusal("sex_expected")


async def phone(services: Services, given: Input) -> str | Refusal:
    """A number the police can call, in one form (E.164, ``phones.normalise``): shared with
    the contact button or typed. Words without digits are asked for a number; digits no one
    could dial (too long, too short) are asked again with an example."""
    region = services.settings.phone_region
    if given.contact:
        number = phones.normalise(given.contact, region, shared=True)
    else:
        text = typed(given)
        if text is None or not any(ch.isdigit() for ch in text):
            return Refusal("contact_expected")
        number = phones.normalise(text, region)
    return number if number is not None else Refusal("contact_invalid")


async def photo(services: Services, given: Input) -> str | Refusal:
    """A photo (its file id; never downloaded). A picture sent as a file is a document."""
    return given.photo if given.photo else Refusal("photo_expected")


FUTURE_SLACK = timedelta(minutes=2)  # a clock a little ahead is not a time in the future


async def when(services: Services, given: Input) -> str | Refusal:
    """A moment not in the future, as ISO text: **Just now**, "14:30", "20 min", "刚刚"."""
    now = services.now()
    moment = now if given.choice == "now" else parse_when(typed(given) or "", now)
    if moment is None:
        return Refusal("time_expected")
    if moment > now + FUTURE_SLACK:
        return Refusal("time_future")
    return moment.isoformat()


def moment_of(stored: str) -> datetime:
    """A stored ``when`` answer back as a moment."""
    return datetime.fromisoformat(stored)


class Spot(NamedTuple):
    """A place answered: the words people read and, unless it is a sighter's unresolved
    words, its coordinates. Stored as the list ``[label, lat, lon]``."""

    label: str
    lat: float | None
    lon: float | None


PLACE_SHOWN = 100  # characters of a typed place quoted back in a re-ask
PLACE_KEPT = 200  # characters of a sighter's own words kept as the place


def place(anywhere: bool = False) -> Parser[Spot]:
    """A location (a pin or a venue), or a place name resolved through the station's
    landmarks (and the geocoder); a name that fits several places is asked again. A bare pin
    is named by its nearest landmark. ``anywhere``: a sighting's place, taken even outside
    the station's area or unresolved (the sighter's words, for the officers to read): news
    of the child is never refused for where it comes from."""

    async def parse(services: Services, given: Input) -> Spot | Refusal:
        if given.location:
            spot: Spot | Refusal = await _pinned(services, given.location, given.venue)
        else:
            spot = await _named(services, given, anywhere)
        if isinstance(spot, Refusal) or anywhere or spot.lat is None or spot.lon is None:
            return spot
        async with services.sessions() as session:
            station = (await services.officers.directory(session)).locate(spot.lat, spot.lon)
        return spot if station is not None else Refusal("place_outside")

    return parse


async def _pinned(services: Services, pin: tuple[float, float], venue: str | None) -> Spot:
    """A pin (or a venue): named by the venue, else by its nearest landmark, in the station's
    language (a label is stored once and read by everyone)."""
    lat, lon = pin
    lang = services.settings.language
    return Spot(venue or await services.places.label(lat, lon, lang), lat, lon)


async def _named(services: Services, given: Input, anywhere: bool) -> Spot | Refusal:
    """Typed words: the one place they name, by that place's name."""
    text = typed(given)
    if text is None:
        return Refusal("place_expected")
    found = await services.places.lookup(text)
    if found.vague:
        return Refusal("place_vague", {"text": text[:PLACE_SHOWN]})
    if found.place is not None:
        return Spot(found.place.label, found.place.lat, found.place.lon)
    if anywhere:
        return Spot(text[:PLACE_KEPT], None, None)
    return Refusal("place_not_found", {"text": text[:PLACE_SHOWN]})


def revived_spot(stored: Any) -> Spot:
    """A place kept in a dialogue row (a JSON list) back as a ``Spot``."""
    label, lat, lon = stored
    return Spot(str(label), lat, lon)


# --- the buttons the parsers read ------------------------------------------------------------


def no_buttons(lang: str) -> Buttons:
    return ()


def skip_button(lang: str) -> Buttons:
    return ((Choice("skip").button(say(lang, "btn_skip")),),)


def next_button(lang: str) -> Buttons:
    return ((Choice("next").button(say(lang, "btn_next")),),)


def now_button(lang: str) -> Buttons:
    """Read by ``when``."""
    return ((Choice("now").button(say(lang, "btn_now")),),)


def sex_buttons(lang: str) -> Buttons:
    """Read by ``sex``."""
    return (
        (Choice("m").button(say(lang, "btn_boy")), Choice("f").button(say(lang, "btn_girl"))),
        (Choice("u").button(say(lang, "btn_unknown")),),
    )
