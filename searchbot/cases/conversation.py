"""Whatever a person types in private goes to their open dialogue (a report, a sighting, a
found child), through the one dialogue engine (``dialogue``); ``/cancel`` ends it. The
dialogue's state is a row, saved after every answer."""

from __future__ import annotations

from searchbot.cases import dialogue as dlg
from searchbot.cases import found, reporting, sightings
from searchbot.cases.answers import Input
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer
from searchbot.words.texts import say

FLOWS = {flow.kind: flow for flow in (reporting.FLOW, sightings.FLOW, found.FLOW)}


async def answer(services: Services, actor: Actor, given: Input) -> Answer | None:
    """Feed ``given`` to the open dialogue; None when there is none."""
    async with services.sessions() as session:
        dialogue = await dlg.load(session, actor.user_id)
    if dialogue is None:
        return None
    flow = FLOWS.get(dialogue.kind, sightings.FLOW)
    reply = await dlg.answer(services, actor, flow, dialogue, given)
    async with services.sessions() as session:
        if await dlg.load(session, actor.user_id) is not None:  # the flow did not end it
            await session.merge(dialogue)
            await session.commit()
    return reply


async def choose(services: Services, actor: Actor, choice: str) -> Answer:
    """A tapped dialogue button. Dialogues live in private chats only: a report confirmed in a
    group would send the family's news there."""
    lang = actor.language
    if not actor.in_private:
        return Answer(toast=say(lang, "private_only"))
    reply = await answer(services, actor, Input(choice=choice))
    return reply or Answer(toast=say(lang, "stale_button"))


async def cancel(services: Services, actor: Actor) -> Answer:
    async with services.sessions() as session:
        dialogue = await dlg.load(session, actor.user_id)
        if dialogue is None:
            return Answer().say(say(actor.language, "nothing_to_cancel"))
        await dlg.end(session, dialogue)
        await session.commit()
    return Answer().say(say(actor.language, "cancelled"))


async def is_open(services: Services, actor: Actor) -> bool:
    async with services.sessions() as session:
        return await dlg.load(session, actor.user_id) is not None
