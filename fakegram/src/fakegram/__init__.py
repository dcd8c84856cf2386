"""In-process fake of the Telegram Bot API for tests, benchmarks and ``searchbot demo``.

:class:`FakeBotApi` is an aiohttp server on 127.0.0.1 that the real bot talks
to (``base_url=fake.base_url``, ``base_file_url=fake.file_url``), plus the fake
world behind it: tests play users and groups (``fake.send``, ``fake.click``,
``fake.block``...) and inspect what the bot did (``fake.messages``,
``fake.calls``, ``fake.violations``).  Calls are validated against the bundled
official spec (``bot-api-10.1.json``, MIT, see ``LICENSE-bot-api-spec``).
See :mod:`fakegram.server` for an example.
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
