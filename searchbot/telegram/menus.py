"""The "/" menu: each kind of chat sees the commands its people can use, in their language."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.models import queries as q
from searchbot.models.stations import station_officer_ids
from searchbot.settings import LANGUAGES
from searchbot.words.cards import mini_app_url
from searchbot.words.texts import say

log = logging.getLogger(__name__)

PRIVATE = ("report", "found", "mycases", "seen", "cancel", "help")
GROUPS = ("register", "status", "found", "unregister", "help")
OFFICERS = (
    "cases", "case", "verify", "escalate", "close", "groups", "approve", "reject", "stats",
    "export", "block", "unblock", "map", "screen", "handover",
)  # fmt: skip


def commands(names: tuple[str, ...], lang: str) -> list[BotCommand]:
    return [BotCommand(name, say(lang, f"cmd_{name}")) for name in names]


async def _scopes(
    services: Services, session: AsyncSession
) -> list[tuple[BotCommandScope, tuple[str, ...]]]:
    scopes: list[tuple[BotCommandScope, tuple[str, ...]]] = [
        (BotCommandScopeAllPrivateChats(), PRIVATE),
        (BotCommandScopeAllGroupChats(), GROUPS),
    ]
    directory = await services.officers.directory(session)  # every station's officers' group
    for chat_id in sorted(directory.officer_chat_ids):
        scopes.append((BotCommandScopeChat(chat_id), OFFICERS))
    for person in await q.reachable_people(session, await _officers(services, session)):
        scopes.append((BotCommandScopeChat(person.user_id), PRIVATE + OFFICERS))
    return scopes


async def _officers(services: Services, session: AsyncSession) -> list[int]:
    """Everyone who is an officer somewhere: city administrators, the default station's
    appointed officers, and every station's administrators and officers."""
    directory = await services.officers.directory(session)
    ids = set(services.settings.admin_ids) | set(await q.officer_ids(session))
    ids |= set(await station_officer_ids(session))
    for station in directory.imported:
        ids |= station.admin_ids
    return sorted(ids)


async def install(bot: Bot, services: Services) -> None:
    """Set every scope's menu in each language, and the default in the station's language. A
    failure here must not stop the bot (the commands work without a menu), nor the other
    scopes (an officers' group that is gone must not cost the officers their menus)."""
    async with services.sessions() as session:
        scopes = await _scopes(services, session)
    for scope, names in scopes:
        try:
            await _set(bot, services, scope, names)
        except TelegramError as error:
            log.warning("could not set the command menu of %s: %s", scope.type, error)
    if mini_app_url(services.settings) is None:
        return
    async with services.sessions() as session:
        people = await q.reachable_people(session, await _officers(services, session))
    for person in people:
        await map_menu(bot, services, person.user_id, True, person.language)


async def follow_role(bot: Bot, services: Services, user_id: int) -> None:
    """Give an officer's private chat the officers' menu, or take it back from someone who is
    no longer one (their chat then shows the menu of all private chats)."""
    scope = BotCommandScopeChat(user_id)
    async with services.sessions() as session:
        officer = await services.officers.is_officer(
            session, Actor(user_id=user_id, chat_id=user_id)
        )
    await map_menu(bot, services, user_id, officer)
    try:
        if officer:
            await _set(bot, services, scope, PRIVATE + OFFICERS)
        else:
            for lang in ("", *LANGUAGES):
                await bot.delete_my_commands(scope=scope, language_code=lang or None)
    except TelegramError as error:  # e.g. an officer who has never opened the bot's chat
        log.info("could not set the menu of chat=%s: %s", user_id, error)


async def map_menu(
    bot: Bot, services: Services, user_id: int, officer: bool, lang: str | None = None
) -> None:
    """The menu button of an officer's private chat opens the command room's list of open
    cases; anyone else's is Telegram's default. Nothing while the command room is off."""
    url = mini_app_url(services.settings)
    if url is None:
        return
    text = say(lang or services.settings.language, "room_menu_button")
    button = MenuButtonWebApp(text, WebAppInfo(url)) if officer else MenuButtonDefault()
    try:
        await bot.set_chat_menu_button(chat_id=user_id, menu_button=button)
    except TelegramError as error:  # a chat the officer never opened: the next /start does it
        log.info("could not set the menu button of chat=%s: %s", user_id, error)


async def _set(
    bot: Bot, services: Services, scope: BotCommandScope, names: tuple[str, ...]
) -> None:
    await bot.set_my_commands(commands(names, services.settings.language), scope=scope)
    for lang in LANGUAGES:
        await bot.set_my_commands(commands(names, lang), scope=scope, language_code=lang)
