"""Every inline button's action, and the one wire format they travel in.

Telegram lets a button carry up to 64 bytes of callback data and hands them back when it is
pressed — as sent, or as a modified client forged them. Each action is a small frozen
dataclass: ``encode()`` gives the data its button carries, and ``decode()`` turns pressed data
back into exactly one action, or None for anything it did not make: an unknown prefix, a missing
or extra part, a number that is not ASCII digits or does not fit its column.

A row's id is ``int | None`` until it is saved; the use cases build buttons for saved rows and
write ``Verify(case.id or 0)``: an unsaved row's 0 makes ``encode`` fail loudly instead of
sending a button that cannot work.

The format is ``PREFIX:PART[:PART]``, the one buttons carried before these classes, so alerts
already standing in groups keep working. Who may press is not decided here: every use case
behind a button re-checks the presser, as it does for the matching command.
"""

from __future__ import annotations

import re
from dataclasses import astuple, dataclass
from typing import ClassVar, Self

from searchbot.domain.messages import Button
from searchbot.domain.numbers import chat_id as _chat_id
from searchbot.domain.numbers import record_id as _record_id

MAX_BYTES = 64  # Telegram's limit on callback data
_WORD = re.compile(r"[a-z][a-z_]{0,31}")  # an outcome, a checklist item, a dialogue choice


def _word(part: str) -> str | None:
    return part if _WORD.fullmatch(part) else None


class ButtonAction:
    """What pressing a button asks for. Subclasses are frozen dataclasses whose fields are the
    parts after the prefix, in order."""

    PREFIX: ClassVar[str]

    def parts(self) -> tuple[str, ...]:
        return tuple(
            ("1" if value else "0") if isinstance(value, bool) else str(value)
            for value in astuple(self)  # type: ignore[call-overload]
        )

    def encode(self) -> str:
        """The callback data of this action's button. Refuses (ValueError) what a press could
        not bring back: data over Telegram's limit, or parts ``decode`` would not accept."""
        data = ":".join((self.PREFIX, *self.parts()))
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {self.PREFIX}")
        if decode(data) != self:
            raise ValueError(f"a {type(self).__name__} that no press could bring back")
        return data

    def button(self, text: str) -> Button:
        """An inline button labelled ``text`` that asks for this action."""
        return Button(text, data=self.encode())

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        """The action from the parts after the prefix; None unless every part is valid."""
        raise NotImplementedError


class _OnRecord(ButtonAction):
    """An action on one row, named by its id."""

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        number = _record_id(parts[0]) if len(parts) == 1 else None
        return cls(number) if number is not None else None  # type: ignore[call-arg]


class _OnChat(ButtonAction):
    """An action on one group chat, named by its chat id."""

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        chat_id = _chat_id(parts[0]) if len(parts) == 1 else None
        return cls(chat_id) if chat_id is not None else None  # type: ignore[call-arg]


@dataclass(frozen=True)
class Checked(_OnRecord):
    """A group's "Checked — not here" under an alert."""

    PREFIX: ClassVar[str] = "ck"
    case_id: int


@dataclass(frozen=True)
class Verify(_OnRecord):
    PREFIX: ClassVar[str] = "vf"
    case_id: int


@dataclass(frozen=True)
class Escalate(_OnRecord):
    PREFIX: ClassVar[str] = "es"
    case_id: int


@dataclass(frozen=True)
class MapPicture(_OnRecord):
    PREFIX: ClassVar[str] = "mp"
    case_id: int


class _OnCaseForStation(ButtonAction):
    """An action on one case for one station, named by their ids."""

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        if len(parts) != 2:
            return None
        case_id, station_id = _record_id(parts[0]), _record_id(parts[1])
        if case_id is None or station_id is None:
            return None
        return cls(case_id, station_id)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Join(_OnCaseForStation):
    """A neighbouring station's officers join a case whose ring reached their area: the
    station named on its notice, whoever presses (an officer of several stations, a city
    administrator, acts for that one)."""

    PREFIX: ClassVar[str] = "jn"
    case_id: int
    station_id: int


@dataclass(frozen=True)
class HandOverAsk(_OnRecord):
    """**Hand over** on a case card: the owner is asked to which station."""

    PREFIX: ClassVar[str] = "hq"
    case_id: int


@dataclass(frozen=True)
class HandOver(_OnCaseForStation):
    """The owning station hands a case over to another station (by its id)."""

    PREFIX: ClassVar[str] = "ho"
    case_id: int
    station_id: int


@dataclass(frozen=True)
class Found(_OnRecord):
    """The family's (or an officer's) "Found" on a case: closes it as found."""

    PREFIX: ClassVar[str] = "fd"
    case_id: int


@dataclass(frozen=True)
class CloseFoundReport(_OnRecord):
    PREFIX: ClassVar[str] = "fc"
    found_id: int


@dataclass(frozen=True)
class Approve(_OnChat):
    PREFIX: ClassVar[str] = "ap"
    chat_id: int


@dataclass(frozen=True)
class Reject(_OnChat):
    PREFIX: ClassVar[str] = "rj"
    chat_id: int


@dataclass(frozen=True)
class Close(ButtonAction):
    """Close a case with an outcome (the use case refuses an outcome it does not know)."""

    PREFIX: ClassVar[str] = "cl"
    case_id: int
    outcome: str

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        if len(parts) != 2:
            return None
        case_id, outcome = _record_id(parts[0]), _word(parts[1])
        return cls(case_id, outcome) if case_id is not None and outcome is not None else None


@dataclass(frozen=True)
class Judge(ButtonAction):
    """An officer's verdict on a sighting."""

    PREFIX: ClassVar[str] = "sc"
    sighting_id: int
    credible: bool

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        if len(parts) != 2 or parts[1] not in ("0", "1"):
            return None
        sighting_id = _record_id(parts[0])
        return cls(sighting_id, parts[1] == "1") if sighting_id is not None else None


@dataclass(frozen=True)
class Match(ButtonAction):
    """A found child is the missing person of a case."""

    PREFIX: ClassVar[str] = "mt"
    found_id: int
    case_id: int

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        if len(parts) != 2:
            return None
        found_id, case_id = _record_id(parts[0]), _record_id(parts[1])
        return cls(found_id, case_id) if found_id is not None and case_id is not None else None


@dataclass(frozen=True)
class WatchExit(ButtonAction):
    """A guard group watches one exit for a case."""

    PREFIX: ClassVar[str] = "ew"
    case_id: int
    landmark_id: int

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        if len(parts) != 2:
            return None
        case_id, landmark_id = _record_id(parts[0]), _record_id(parts[1])
        return (
            cls(case_id, landmark_id) if case_id is not None and landmark_id is not None else None
        )


@dataclass(frozen=True)
class TickCheck(ButtonAction):
    """An officer ticks one handover check of a found child (the use case knows the items)."""

    PREFIX: ClassVar[str] = "hc"
    found_id: int
    item: str

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        if len(parts) != 2:
            return None
        found_id, item = _record_id(parts[0]), _word(parts[1])
        return cls(found_id, item) if found_id is not None and item is not None else None


@dataclass(frozen=True)
class Choice(ButtonAction):
    """A tapped choice in a private dialogue (report, sighting, found child)."""

    PREFIX: ClassVar[str] = "d"
    choice: str

    @classmethod
    def parse(cls, parts: list[str]) -> Self | None:
        choice = _word(parts[0]) if len(parts) == 1 else None
        return cls(choice) if choice is not None else None


Action = (
    Checked | Verify | Escalate | MapPicture | Found | CloseFoundReport | Approve | Reject
    | Close | Judge | Match | WatchExit | TickCheck | Choice | Join | HandOver
    | HandOverAsk
)  # fmt: skip
_BY_PREFIX: dict[str, type[ButtonAction]] = {
    kind.PREFIX: kind
    for kind in (
        Checked,
        Verify,
        Escalate,
        MapPicture,
        Found,
        CloseFoundReport,
        Approve,
        Reject,
        Close,
        Judge,
        Match,
        WatchExit,
        TickCheck,
        Choice,
        Join,
        HandOver,
        HandOverAsk,
    )  # fmt: skip
}


def hand_over_row(case_id: int, label: str, stations: bool) -> tuple[tuple[Button, ...], ...]:
    """The card's **Hand over** row, when there are stations to hand a case over to."""
    return ((HandOverAsk(case_id).button(label),),) if stations else ()


def decode(data: str | None) -> Action | None:
    """The action a pressed button asks for; None for data no button of ours carries."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    prefix, colon, rest = data.partition(":")
    kind = _BY_PREFIX.get(prefix)
    if kind is None or not colon:
        return None
    action = kind.parse(rest.split(":"))
    if action is None or ":".join((prefix, *action.parts())) != data:
        return None  # only the one spelling encode gives ("vf:012" is not "vf:12")
    return action  # type: ignore[return-value]


def is_crowd_press(data: str | None) -> bool:
    """Whether this is a button a crowd presses at once ("Checked — not here" under an alert):
    one member's press need not wait for the others' (see ``searchbot.telegram.update_order``)."""
    return isinstance(decode(data), Checked)
