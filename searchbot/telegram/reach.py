"""Is Telegram there? One ``getMe`` at start, through the bot's own HTTP client and proxy.

``searchbot run`` asks before it starts (see ``searchbot.operations.startup``): a station whose
uplink comes up late, or whose proxy does, waits with one line a try instead of a traceback.
Telegram refusing the token (401, or 404 for a token of the wrong shape) is not tried again.
Log lines and complaints name the host and the proxy, never the token nor the proxy's password.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut

from searchbot.operations.startup import Refused, Unreachable
from searchbot.settings import Settings, without_password
from searchbot.telegram.bot_http import AiohttpRequest

PROBE_TIMEOUT = 10.0  # seconds for the connection and for the answer, each
REFUSED_TOKEN = (401, 404)  # Telegram: a token not valid / not of a token's shape


def telegram_shown(settings: Settings) -> str:
    """Telegram as a log line may name it: the API's host (and the proxy's, without password)."""
    parts = urlsplit(settings.telegram_api_base_url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    shown = f"Telegram at {host}"
    if settings.telegram_proxy:
        shown += f" through the proxy {without_password(settings.telegram_proxy)}"
    return shown


async def reach_telegram(settings: Settings) -> None:
    """``getMe`` with the bot's token; ``Unreachable`` or ``Refused`` when that fails."""
    assert settings.telegram_bot_token, "TELEGRAM_BOT_TOKEN is required"
    what = telegram_shown(settings)
    request = AiohttpRequest(
        pool_size=1, blind_pool_size=1, read_timeout=PROBE_TIMEOUT,
        connect_timeout=PROBE_TIMEOUT, proxy=settings.telegram_proxy,
    )  # fmt: skip
    await request.initialize()
    try:
        url = f"{settings.telegram_api_base_url}{settings.telegram_bot_token}/getMe"
        status, body = await request.do_request(url, "POST")
    except TimedOut:
        raise Unreachable(what, f"no answer within {PROBE_TIMEOUT:g} s") from None
    except NetworkError as error:
        raise Unreachable(what, _scrubbed(str(error), settings)) from error
    finally:
        await request.shutdown()
    _judge(status, body, what)


def _judge(status: int, body: bytes, what: str) -> None:
    """Telegram's answer to ``getMe``: passes, refuses the token, or is not (yet) Telegram's."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status in REFUSED_TOKEN:
        raise Refused(
            what, f"HTTP {status}: the token is not valid (check TELEGRAM_BOT_TOKEN, and "
            "TELEGRAM_API_BASE_URL if set)"
        )  # fmt: skip
    if status != 200:  # a server error, a proxy's 502, a flood wait: all pass
        raise Unreachable(what, f"HTTP {status}")
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise Unreachable(what, "HTTP 200 but not the Bot API's answer (a captive portal?)")


def telegram_trouble(error: BaseException, settings: Settings) -> Unreachable | Refused | None:
    """What an error of python-telegram-bot during the start says about reaching Telegram."""
    what = telegram_shown(settings)
    if isinstance(error, InvalidToken):
        return Refused(what, "the token is not valid (check TELEGRAM_BOT_TOKEN)")
    if isinstance(error, NetworkError | RetryAfter):  # TimedOut is a NetworkError
        return Unreachable(what, _scrubbed(f"{type(error).__name__}: {error}", settings))
    return None


def _scrubbed(message: str, settings: Settings) -> str:
    """``message`` without the token or the proxy's password, should a library have named
    them (an invalid URL is quoted whole)."""
    secrets = [settings.telegram_bot_token]
    if settings.telegram_proxy and (password := urlsplit(settings.telegram_proxy).password):
        secrets += [password, unquote(password)]
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return " ".join(message.split())
