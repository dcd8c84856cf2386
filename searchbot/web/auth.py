"""Who is looking at the command room.

Two ways in, nothing else:
- **Telegram Mini App init data** (officers): Telegram signs it with the bot token;
  ``init_data.verified`` checks the signature, we add that it is at most an hour old and that
  the user is an officer *now* (an officer removed since the page opened loses it at the next
  call).
- **A screen token** (the station's big screen, read-only, no personal fields): HMAC-signed
  with a key derived from the bot's token and the links' generation, valid until its expiry;
  ``/screen revoke`` bumps the generation kept in the database, so every link given before
  stops working at once. The signature is checked before anything is read: a forged token
  costs the bot no database query (the generation is read only for a genuine link).
A bad or stale signature is "unauthorised" (401); a valid person who is not an officer, an
expired or revoked screen link, is "forbidden" (403).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.clock import as_utc
from searchbot.models import ScreenKey
from searchbot.web.init_data import verified
from searchbot.words.texts import language_of

INIT_DATA_MAX_AGE = timedelta(hours=1)
SCREEN_KEY_ID = 1


class Unauthorized(Exception):
    """401: the credentials are forged, garbled or stale."""


class Forbidden(Exception):
    """403: we know who (or what link) this is, and it may not look."""


@dataclass(frozen=True)
class Viewer:
    """Who the page or the API is answering."""

    language: str
    actor: Actor | None = None  # an officer, who may act; None for the screen
    # the screen's stations (None: every one; the default station is None inside)
    stations: frozenset[int | None] | None = None

    @property
    def personal(self) -> bool:
        """May see the case card as officers see it (the screen may not)."""
        return self.actor is not None


async def officer_from_init_data(services: Services, init_data: str) -> Viewer:
    """The officer behind Telegram's init data, or Unauthorized / Forbidden."""
    token = services.settings.telegram_bot_token or ""
    try:
        data = await verified(token, init_data)
    except ValueError:
        raise Unauthorized("bad signature") from None
    if data.user is None:
        raise Unauthorized("no user")
    age = services.now() - as_utc(data.auth_date)
    if age > INIT_DATA_MAX_AGE or age < -timedelta(minutes=5):
        raise Unauthorized("stale")
    user = data.user
    language = language_of(user.language_code, services.settings.language)
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    actor = Actor(user_id=user.id, chat_id=user.id, name=name, language=language)
    async with services.sessions() as session:
        if not await services.officers.is_officer(session, actor):
            raise Forbidden("not an officer")
    return Viewer(language=language, actor=actor)


# --- screen links ----------------------------------------------------------------------------


async def _key(services: Services, session: AsyncSession) -> ScreenKey:
    """The links' generation (its row made on first use, by an officer's ``/screen``)."""
    key = await session.get(ScreenKey, SCREEN_KEY_ID)
    if key is None:
        key = ScreenKey(id=SCREEN_KEY_ID, secret=secrets.token_hex(32), rotated_at=services.now())
        session.add(key)
        await session.commit()
    return key


def _sign(bot_token: str, generation: int, body: str) -> str:
    """The signature of a link's claims: HMAC-SHA256 keyed with a key of its generation, made
    from the bot's token (a secret this process holds anyway: Mini App init data is signed with
    it) under a label of its own, so no other signature of the bot can pass for one."""
    key = hmac.new(bot_token.encode(), f"searchbot screen links {generation}".encode(),
                   hashlib.sha256).digest()  # fmt: skip
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def screen_token(
    services: Services, language: str, stations: set[int | None] | None = None
) -> tuple[str, datetime]:
    """A new read-only token and when it expires; ``stations``: whose cases it shows (the
    default station is 0 in the claims; no claim: every station)."""
    expires = services.now() + timedelta(hours=services.settings.screen_hours)
    async with services.sessions() as session:
        key = await _key(services, session)
        claims: dict[str, object] = {
            "e": int(expires.timestamp()), "g": key.generation, "l": language,
        }  # fmt: skip
        if stations is not None:
            claims["s"] = sorted(s or 0 for s in stations)
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = _sign(services.settings.telegram_bot_token or "", key.generation, body)
        return f"{body}.{token}", expires


async def revoke_screens(services: Services, by: int) -> int:
    """Replace the signing key: every screen link given so far stops working. Returns the
    new generation."""
    async with services.sessions() as session:
        key = await _key(services, session)
        key.secret, key.generation = secrets.token_hex(32), key.generation + 1
        key.rotated_at, key.rotated_by = services.now(), by
        session.add(key)
        await services.audit.record(session, by, "screen_revoke", generation=key.generation)
        await session.commit()
        return key.generation


async def screen_viewer(services: Services, token: str) -> Viewer:
    """The screen behind ``token``: Unauthorized when garbled or forged (decided without the
    database), Forbidden when expired or revoked (``/screen revoke`` bumped the generation)."""
    body, _, signature = token.partition(".")
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        expires, generation = int(claims["e"]), int(claims["g"])
        language = str(claims.get("l", ""))
        shown = claims.get("s")
        stations = None if shown is None else frozenset(int(s) or None for s in shown)
    except (ValueError, KeyError, TypeError):
        raise Unauthorized("garbled screen token") from None
    bot_token = services.settings.telegram_bot_token or ""
    if not hmac.compare_digest(signature, _sign(bot_token, generation, body)):
        raise Unauthorized("forged screen token")
    if services.now().timestamp() >= expires:
        raise Forbidden("expired screen link")
    async with services.sessions() as session:
        key = await session.get(ScreenKey, SCREEN_KEY_ID)
    if key is None or generation != key.generation:
        raise Forbidden("revoked screen link")
    return Viewer(language=language_of(language, services.settings.language), stations=stations)
