"""In-process fake of the Telegram Bot API for tests, benchmarks and ``searchbot demo``.

See :mod:`searchbot.fake_bot_api.server` for how to point a python-telegram-bot
``Application`` at it.
"""

from .errors import ApiError
from .files import TINY_JPEG
from .limits import Limits
from .markup import EntityParseError, ParsedText, parse_formatted, parse_html
from .objects import ApiCall, FakeChat, FakeMessage, FakeUser, StoredFile, UploadedFile
from .server import FakeBotApi
from .spec import BotApiSpec, load_spec

__all__ = [
    "TINY_JPEG",
    "ApiCall",
    "ApiError",
    "BotApiSpec",
    "EntityParseError",
    "FakeBotApi",
    "FakeChat",
    "FakeMessage",
    "FakeUser",
    "Limits",
    "ParsedText",
    "StoredFile",
    "UploadedFile",
    "load_spec",
    "parse_formatted",
    "parse_html",
]
