"""Every text the bot shows comes from the gettext catalogs in ``locale/`` (one ``.po`` file per
language, edited with any gettext tool; message ids are short keys like ``ask_age``).

Templates are HTML; the values put into them are escaped here, so no handler or use case can
forget to escape a family's or a stranger's words. Pass ``Raw`` for a value that is already HTML.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from searchbot.settings import LANGUAGES


class Raw(str):
    """A value that is already safe HTML (built from other escaped texts)."""


LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "searchbot"


def load_catalog(lang: str) -> dict[str, str]:
    """Message id -> text of one language's gettext catalog (``locale/LANG/LC_MESSAGES``)."""
    path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


CATALOGS: dict[str, dict[str, str]] = {lang: load_catalog(lang) for lang in LANGUAGES}
EN, ZH = CATALOGS["en"], CATALOGS["zh"]


def language_of(code: str | None, default: str) -> str:
    """Our language for a Telegram ``language_code`` (``zh-hans`` -> ``zh``), else ``default``."""
    if code:
        base = code.lower().split("-")[0].split("_")[0]
        if base in LANGUAGES:
            return base
    return default


def say(lang: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` with ``values`` escaped and filled in."""
    template = CATALOGS.get(lang, EN).get(key) or EN[key]
    return template.format(**{name: _escape(value) for name, value in values.items()})


def plain(lang: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` with ``values`` as they are: for a label that is stored and
    escaped later, where it is shown (the template itself must hold no markup)."""
    template = CATALOGS.get(lang, EN).get(key) or EN[key]
    return template.format(**values)


def _escape(value: Any) -> str:
    if isinstance(value, Raw):
        return value
    return html.escape(str(value), quote=False)


def ref(case_id: int) -> str:
    return f"#{case_id}"
