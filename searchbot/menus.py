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
)
from telegram.error import TelegramError

from models import queries as q
from searchbot.services import Services
from searchbot.settings import LANGUAGES
from searchbot.texts import say

log = logging.getLogger(__name__)

PRIVATE = ("report", "mycases", "seen", "cancel", "help")
GROUPS = ("register", "status", "unregister")
OFFICERS = (
    "cases", "case", "verify", "escalate", "close", "groups", "approve", "reject", "stats",
    "export", "block", "unblock",
)  # fmt: skip


def commands(names: tuple[str, ...], lang: str) -> list[BotCommand]:
    return [BotCommand(name, say(lang, f"cmd_{name}")) for name in names]


async def _scopes(
    services: Services, session: AsyncSession
) -> list[tuple[BotCommandScope, tuple[str, ...]]]:
    settings = services.settings
    scopes: list[tuple[BotCommandScope, tuple[str, ...]]] = [
        (BotCommandScopeAllPrivateChats(), PRIVATE),
        (BotCommandScopeAllGroupChats(), GROUPS),
    ]
    if settings.officer_chat_id is not None:
        scopes.append((BotCommandScopeChat(settings.officer_chat_id), OFFICERS))
    officers = sorted(set(settings.admin_ids) | set(await q.officer_ids(session)))
    for person in await q.reachable_people(session, officers):
        scopes.append((BotCommandScopeChat(person.user_id), PRIVATE + OFFICERS))
    return scopes


async def install(bot: Bot, services: Services) -> None:
    """Set every scope's menu in each language, and the default in the station's language. A
    failure here must not stop the bot: the commands work without a menu."""
    async with services.sessions() as session:
        scopes = await _scopes(services, session)
    try:
        for scope, names in scopes:
            await bot.set_my_commands(commands(names, services.settings.language), scope=scope)
            for lang in LANGUAGES:
                await bot.set_my_commands(commands(names, lang), scope=scope, language_code=lang)
    except TelegramError as error:
        log.warning("could not set the command menus: %s", error)
