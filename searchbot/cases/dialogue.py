"""The one dialogue engine: private dialogues (a report, a sighting, a found child) kept as
rows, so a restart loses no answer.

A dialogue declares itself as a ``Flow``: its ``Step``s in order (each: the field it fills,
its question, its parser from ``answers``, whether it may be skipped, its buttons) and what
happens after the last one (``finish``). The engine does the rest the same way for all three:
asks the question, reads the answer with the step's parser, asks again in friendly words when
it is not one (with the question's buttons, nothing lost), goes on at ``/skip`` where a step
allows it, stores each answer in the ``Dialogue`` row and moves to the next question.

The row keeps today's shape: ``step`` is the open step's name, ``data`` the answers by field
(and the engine's own ``editing`` and ``candidate``), so a dialogue open across an upgrade
continues. ``/cancel`` is ``conversation.cancel``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases import answers
from searchbot.cases.answers import Buttons, Input, Parser, Refusal
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer, Out
from searchbot.models import Dialogue
from searchbot.words.texts import say

T = TypeVar("T")

CHECK = "_check"  # the step that shows a guessed answer back: "place" -> "place_check"
Finish = Callable[[Services, Actor, Dialogue], Awaitable[Answer]]
Handler = Callable[[Services, Actor, Dialogue, Input], Awaitable[Answer]]


@dataclass(frozen=True)
class Gather:
    """A step that takes several answers (photos) until **Next** (or ``/skip``), at most
    ``limit``; ``saved`` (with ``count``) and ``full`` are what it says after each."""

    limit: int
    saved: str
    full: str


@dataclass(frozen=True)
class Check(Generic[T]):
    """An answer the bot guessed (a typed place it resolved) is shown back with Yes / No
    before it is kept; meanwhile the row's step is ``<name>_check`` and its ``candidate`` the
    guess. Anything else sent then is a new answer to the step."""

    guessed: Callable[[Input], bool]  # which answers are guesses
    shows: Callable[[str, T], list[Out]]  # the messages that ask (the last with Yes and No)
    revive: Callable[[Any], T]  # the candidate, as the row holds it, back to an answer


@dataclass(frozen=True)
class Step(Generic[T]):
    """One question of a dialogue."""

    name: str  # the row's ``step`` while it is open (stored: renaming one breaks open rows)
    field: str  # where its answer is kept in the row's ``data``
    ask: str  # the question's catalog key
    parse: Parser[T]
    skip: Callable[[Services], T] | None = None  # may be skipped: the answer it then gets
    buttons: Callable[[str], Buttons] = answers.no_buttons  # the question's, and every re-ask's
    values: Mapping[str, Any] = default(default_factory=dict)  # the question's placeholders
    reask: Mapping[str, str] = default(default_factory=dict)  # a refusal's key -> this step's
    keep: Callable[[T], dict[str, Any]] | None = None  # the data it stores (default: field)
    echo: Callable[[str, T], str] | None = None  # said when the answer is kept
    gather: Gather | None = None
    check: Check[T] | None = None

    def question(self, lang: str) -> Out:
        return Out(say(lang, self.ask, **self.values), buttons=self.buttons(lang))

    def refused(self, lang: str, refusal: Refusal) -> Out:
        """The re-ask: what was wrong, in this dialogue's words, with the question's buttons
        (whoever scrolled past them has them again)."""
        key = self.reask.get(refusal.key, refusal.key)
        return Out(say(lang, key, **{**self.values, **refusal.values}), buttons=self.buttons(lang))

    def kept(self, value: T) -> dict[str, Any]:
        return self.keep(value) if self.keep is not None else {self.field: value}


@dataclass(frozen=True)
class Aside:
    """An answer a dialogue takes at any step, beside its questions, staying where it is (the
    sighter's shared phone)."""

    takes: Callable[[Input], bool]
    field: str
    parse: Parser[Any]
    saved: str  # said when kept
    reask: Mapping[str, str] = default(default_factory=dict)


@dataclass(frozen=True)
class Flow:
    """A dialogue: ``kind`` (the row's), its steps in order, and ``finish``, called after the
    last step (and after a step revisited from the summary) with every answer in the row.
    ``own``: steps the dialogue answers itself (the report's summary)."""

    kind: str
    steps: tuple[Step[Any], ...]
    finish: Finish
    own: Mapping[str, Handler] = default(default_factory=dict)
    aside: Aside | None = None

    def step(self, name: str) -> Step[Any] | None:
        return next((step for step in self.steps if step.name == name), None)

    def after(self, step: Step[Any]) -> Step[Any] | None:
        index = self.steps.index(step) + 1
        return self.steps[index] if index < len(self.steps) else None


# --- the row ---------------------------------------------------------------------------------


async def load(session: AsyncSession, user_id: int) -> Dialogue | None:
    return await session.get(Dialogue, user_id)


async def begin(
    services: Services, session: AsyncSession, user_id: int, kind: str, step: str, **data: Any
) -> Dialogue:
    """Start a dialogue, replacing any unfinished one."""
    dialogue = await session.get(Dialogue, user_id)
    if dialogue is None:
        dialogue = Dialogue(user_id=user_id, kind=kind, step=step, updated_at=services.now())
    dialogue.kind, dialogue.step, dialogue.data = kind, step, dict(data)
    dialogue.updated_at = services.now()
    session.add(dialogue)
    return dialogue


async def start(
    services: Services, session: AsyncSession, actor: Actor, flow: Flow, **data: Any
) -> Answer:
    """Open ``flow`` at its first question (the caller commits)."""
    first = flow.steps[0]
    await begin(services, session, actor.user_id, flow.kind, first.name, **data)
    return Answer().add(first.question(actor.language))


def advance(services: Services, dialogue: Dialogue, step: str, **data: Any) -> None:
    """Move to ``step``, remembering ``data`` (JSON columns need a new dict to be saved)."""
    dialogue.data = {**dialogue.data, **data}
    dialogue.step = step
    dialogue.updated_at = services.now()


async def end(session: AsyncSession, dialogue: Dialogue) -> None:
    await session.delete(dialogue)


def revisit(services: Services, dialogue: Dialogue, step: Step[Any], lang: str) -> Answer:
    """Ask ``step`` again from the summary; once answered, the dialogue finishes again."""
    reset: dict[str, Any] = {step.field: []} if step.gather else {}
    advance(services, dialogue, step.name, editing=True, **reset)
    return Answer().add(step.question(lang))


# --- one input -------------------------------------------------------------------------------


async def answer(
    services: Services, actor: Actor, flow: Flow, dialogue: Dialogue, given: Input
) -> Answer:
    """Take ``given`` as the answer to the open step of ``dialogue``."""
    lang, name = actor.language, dialogue.step
    if given.forwarded:
        return Answer().say(say(lang, "forwarded"))
    if flow.aside is not None and flow.aside.takes(given):
        return await _aside(services, actor, flow.aside, dialogue, given)
    if name in flow.own:
        return await flow.own[name](services, actor, dialogue, given)
    step = flow.step(name)
    if step is not None:
        return await _take(services, actor, flow, dialogue, step, given)
    checked = flow.step(name.removesuffix(CHECK))
    if name.endswith(CHECK) and checked is not None and checked.check is not None:
        return await _confirm(services, actor, flow, dialogue, checked, given)
    return Answer().say(say(lang, "stale_button"))


async def _take(
    services: Services, actor: Actor, flow: Flow, dialogue: Dialogue, step: Step[Any], given: Input
) -> Answer:
    """An answer is read first, so a photo captioned "/skip" is still a photo."""
    if step.gather is not None:
        return await _gather(services, actor, flow, dialogue, step, given)
    value = await step.parse(services, given)
    if isinstance(value, Refusal):
        if step.skip is not None and answers.skipped(given):
            return await _keep(services, actor, flow, dialogue, step, step.skip(services))
        return Answer().add(step.refused(actor.language, value))
    if step.check is not None and step.check.guessed(given):
        advance(services, dialogue, step.name + CHECK, candidate=value)
        return Answer(messages=step.check.shows(actor.language, value))
    return await _keep(services, actor, flow, dialogue, step, value)


async def _gather(
    services: Services, actor: Actor, flow: Flow, dialogue: Dialogue, step: Step[Any], given: Input
) -> Answer:
    """One more answer for a gathering step, or on to the next step at Next / ``/skip``."""
    assert step.gather is not None
    lang, gathered = actor.language, list(dialogue.data.get(step.field) or [])
    value = await step.parse(services, given)
    if isinstance(value, Refusal):
        if answers.skipped(given):
            return await _keep(services, actor, flow, dialogue, step, gathered)
        return Answer().add(step.refused(lang, value))
    more = answers.next_button(lang)
    if len(gathered) >= step.gather.limit:
        return Answer().say(say(lang, step.gather.full), buttons=more)
    gathered.append(value)
    advance(services, dialogue, step.name, **{step.field: gathered})
    return Answer().say(say(lang, step.gather.saved, count=len(gathered)), buttons=more)


async def _confirm(
    services: Services, actor: Actor, flow: Flow, dialogue: Dialogue, step: Step[Any], given: Input
) -> Answer:
    """Yes keeps the guess; No asks the question again; anything else answers it anew."""
    assert step.check is not None
    candidate = dialogue.data.get("candidate")
    if given.choice == "yes" and candidate is not None:
        return await _keep(services, actor, flow, dialogue, step, step.check.revive(candidate))
    advance(services, dialogue, step.name)
    if given.choice == "no":
        return Answer().add(step.question(actor.language))
    return await _take(services, actor, flow, dialogue, step, given)


async def _keep(
    services: Services, actor: Actor, flow: Flow, dialogue: Dialogue, step: Step[Any], value: Any
) -> Answer:
    """Store the answer and ask the next question; after the last (or a revisited) step, the
    dialogue's finish."""
    reply = Answer()
    if step.echo is not None:
        reply.say(step.echo(actor.language, value))
    data = step.kept(value)
    editing = bool(dialogue.data.get("editing"))
    if editing:
        data["editing"] = False
    following = None if editing else flow.after(step)
    advance(services, dialogue, following.name if following else step.name, **data)
    if following is not None:
        return reply.add(following.question(actor.language))
    reply.messages.extend((await flow.finish(services, actor, dialogue)).messages)
    return reply


async def _aside(
    services: Services, actor: Actor, aside: Aside, dialogue: Dialogue, given: Input
) -> Answer:
    value = await aside.parse(services, given)
    if isinstance(value, Refusal):
        return Answer().say(say(actor.language, aside.reask.get(value.key, value.key)))
    advance(services, dialogue, dialogue.step, **{aside.field: value})
    return Answer().say(say(actor.language, aside.saved))
