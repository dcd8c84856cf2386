"""Inline buttons. The callback data is decoded into one of ``searchbot.words.buttons``' actions;
every action re-checks who may do it server-side, so a forged or replayed callback changes
nothing it should not."""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from searchbot.cases import (
    borders,
    closing,
    conversation,
    desk,
    exits,
    found,
    registration,
    sightings,
)
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer
from searchbot.handlers.render import Context, actor_of, reply
from searchbot.models import CaseOutcome
from searchbot.telegram.lean_updates import shown_on
from searchbot.web import room
from searchbot.words.buttons import (
    Action,
    Approve,
    Checked,
    Choice,
    Close,
    CloseFoundReport,
    Escalate,
    Found,
    HandOver,
    HandOverAsk,
    Join,
    Judge,
    MapPicture,
    Match,
    Reject,
    TickCheck,
    Verify,
    WatchExit,
    decode,
)
from searchbot.words.texts import say

GONE = {ChatMemberStatus.LEFT, ChatMemberStatus.BANNED}


async def _member_there(update: Update, context: Context) -> bool:
    """Whether the presser is still a member of the chat the button is in (Telegram says)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    if member.status == ChatMemberStatus.RESTRICTED:
        return bool(getattr(member, "is_member", False))
    return member.status not in GONE


def _on_its_own_button(update: Update, bot_id: int) -> bool:
    """Whether Telegram delivered this press from a button the bot put on the message it came
    with (the message is Telegram's, not the client's: a forged press names data that no
    button of that message carries). What the message showed was read as the update came in
    (``lean_updates``)."""
    query = update.callback_query
    shown = shown_on(query) if query is not None else None
    if query is None or shown is None or shown.sender_id != bot_id:
        return False
    return query.data in shown.buttons


async def on_button(update: Update, context: Context) -> None:
    """A pressed inline button: decoded once; data no button of ours carries, or a button whose
    use case no longer applies, gets the "stale button" toast. Any other failure is a bug and
    goes to the error handler."""
    query = update.callback_query
    if query is None:
        return
    services = context.services
    where = actor_of(update, services)
    action = decode(query.data)
    if action is None:  # forged, garbled or from an older bot: no use case sees it
        await reply(update, context, Answer(toast=say(where.language, "stale_button")))
        return
    actor = where
    # the stations as they are now (an import under a running bot); a crowd's "Checked" under an
    # alert, or a private chat, is no officers' group: no query for those
    if where.in_private or isinstance(action, Checked):
        stations = services.officers.book.current
    else:
        stations = await services.officers.refresh(services.sessions)
    in_officers_chat = where.chat_id in stations.officer_chat_ids
    if (
        in_officers_chat
        and not isinstance(action, Choice)
        and not await _member_there(update, context)
    ):  # left or removed from the officers' group: no longer an officer by being there
        actor = replace(actor, chat_id=actor.user_id)
    answer = await _perform(update, context, actor, action)
    await reply(update, context, answer.pressed_in(where.in_private))


async def _perform(update: Update, context: Context, actor: Actor, action: Action) -> Answer:
    """The use case the button asks for; each re-checks who may do it."""
    services = context.services
    match action:
        case Checked(case_id):
            shown = _on_its_own_button(update, context.bot.id)
            return await registration.checked(services, actor, case_id, on_its_button=shown)
        case Approve(chat_id):
            return await registration.decide(services, actor, chat_id, True)
        case Reject(chat_id):
            return await registration.decide(services, actor, chat_id, False)
        case Verify(case_id):
            return await desk.verify(services, actor, case_id)
        case Escalate(case_id):
            return await desk.escalate(services, actor, case_id)
        case Close(case_id, outcome):
            return await closing.close(services, actor, case_id, outcome)
        case Found(case_id):
            return await closing.close(services, actor, case_id, CaseOutcome.FOUND)
        case Judge(sighting_id, credible):
            return await sightings.judge(services, actor, sighting_id, credible)
        case Match(found_id, case_id):
            return await found.match(services, actor, found_id, case_id)
        case WatchExit(case_id, landmark_id):
            shown = _on_its_own_button(update, context.bot.id)
            return await exits.watch(services, actor, case_id, landmark_id, on_its_button=shown)
        case TickCheck(found_id, item):
            return await found.tick(services, actor, found_id, item)
        case CloseFoundReport(found_id):
            return await found.close_report(services, actor, found_id)
        case MapPicture(case_id):
            return await room.map_picture(services, actor, case_id)
        case Choice(choice):
            return await conversation.choose(services, actor, choice)
        case Join(case_id, station_id):
            return await borders.join(services, actor, case_id, station_id)
        case HandOver(case_id, station_id):
            return await borders.hand_over(services, actor, case_id, station_id)
        case HandOverAsk(case_id):
            return await borders.hand_over_choices(services, actor, case_id)
        case _:
            assert_never(action)
