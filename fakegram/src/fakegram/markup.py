"""Telegram parse modes: turn the text a bot sends into what the user sees.

The real Bot API rejects a message whose formatting cannot be parsed with
``400 Bad Request: can't parse entities: ...``.  Bots that interpolate user
input into HTML without escaping it only find out in production, so the fake
server parses HTML exactly as strictly as Telegram (a port of TDLib's
``parse_html``), and is slightly stricter about ``&``: a bare ampersand that
does not start ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` or a numeric character
reference is an error here, while Telegram would keep it as a literal ``&``.

Offsets and lengths of the produced entities are in UTF-16 code units, like
Telegram's.  MarkdownV2 / Markdown get a simple plain-text fallback (markup
characters and escapes are stripped, no entities are produced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EntityParseError",
    "ParsedText",
    "parse_formatted",
    "parse_html",
    "parse_markdown",
    "utf16_len",
]

# Tags Telegram accepts, mapped to the entity type they produce.
_TAG_ENTITY: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_SPACES = " \t\r\n\x0b\x0c"
# Characters trimmed from both ends of a formatted text, like Telegram does.
_TRIM = " \t\r\n\x0b\x0c\x00"
_MAX_CODE_POINT = 0x10FFFF


class EntityParseError(ValueError):
    """The text cannot be parsed in the requested parse mode (Telegram answers 400)."""


@dataclass(frozen=True)
class ParsedText:
    """Plain text as the user sees it plus its MessageEntity dicts (UTF-16 offsets)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    argument: str
    offset16: int
    byte_offset: int
    language: str = ""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # in C: the fake's hot loop


def parse_formatted(source: str, parse_mode: str | None) -> ParsedText:
    """Parse ``source`` according to a Bot API ``parse_mode`` value (None/"" = plain)."""
    mode = (parse_mode or "").strip().lower()
    if mode == "html":
        parsed = parse_html(source)
    elif mode in ("markdownv2", "markdown"):
        parsed = parse_markdown(source, v2=mode == "markdownv2")
    else:
        parsed = ParsedText(source, [])
    return _trim(parsed)


class _HtmlParser:
    """Single-use HTML parser producing plain text and entities (port of TDLib's rules)."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.n = len(source)
        self.out: list[str] = []
        self.offset16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, index: int) -> int:
        """UTF-8 byte offset of a character index, as Telegram reports positions."""
        return len(self.src[:index].encode("utf-8"))

    def emit(self, chunk: str) -> None:
        """Append visible text."""
        self.out.append(chunk)
        self.offset16 += utf16_len(chunk)

    def run(self) -> ParsedText:
        """Parse the whole source."""
        i = 0
        while i < self.n:
            match = _SPECIAL.search(self.src, i)
            if match is None:
                self.emit(self.src[i:])
                break
            if match.start() > i:
                self.emit(self.src[i : match.start()])
            i = match.start()
            if self.src[i] == "&":
                i = self.entity(i)
            elif i + 1 < self.n and self.src[i + 1] == "/":
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)

    def entity(self, i: int) -> int:
        """Decode ``&...`` at ``i``; a bare ``&`` is an error (stricter than Telegram)."""
        char, end = decode_html_entity(self.src, i)
        if char is None:
            raise EntityParseError(
                f"Unsupported HTML entity or unescaped '&' at byte offset {self.byte_offset(i)}"
            )
        self.emit(char)
        return end

    def skip_spaces(self, j: int) -> int:
        """Index of the first non-space character at or after ``j``."""
        while j < self.n and self.src[j] in _SPACES:
            j += 1
        return j

    def start_tag(self, begin: int) -> int:
        """Parse ``<tag attr=value ...>`` starting at ``begin``; returns the index after it."""
        j = begin + 1
        while j < self.n and self.src[j] not in _SPACES and self.src[j] != ">":
            j += 1
        if j >= self.n:
            raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = self.src[begin + 1 : j].lower()
        if tag not in _TAG_ENTITY:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        attributes, j = self.attributes(tag, begin, j)
        argument = self.tag_argument(tag, attributes, begin)
        self.stack.append(_OpenTag(tag, argument, self.offset16, self.byte_offset(begin)))
        return j + 1

    def attributes(self, tag: str, begin: int, j: int) -> tuple[dict[str, str], int]:
        """Parse the attributes of a start tag; returns them and the index of ``>``."""
        attributes: dict[str, str] = {}
        while True:
            j = self.skip_spaces(j)
            if j >= self.n:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {self.byte_offset(begin)}"
                )
            if self.src[j] == ">":
                return attributes, j
            name_begin = j
            while j < self.n and self.src[j] not in _SPACES and self.src[j] not in "=>":
                j += 1
            name = self.src[name_begin:j].lower()
            if not name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            j = self.skip_spaces(j)
            if j >= self.n or self.src[j] != "=":
                if tag == "blockquote" and name == "expandable":
                    attributes[name] = ""
                    continue
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {self.byte_offset(begin)}"
                )
            attributes[name], j = self.attribute_value(tag, begin, self.skip_spaces(j + 1))

    def attribute_value(self, tag: str, begin: int, j: int) -> tuple[str, int]:
        """Parse a quoted string or a bare name token starting at ``j``."""
        if j >= self.n:
            raise EntityParseError(
                f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        quote = self.src[j]
        if quote not in "'\"":
            token_begin = j
            while j < self.n and (self.src[j].isalnum() or self.src[j] in ".-"):
                j += 1
            if j < self.n and self.src[j] not in _SPACES and self.src[j] != ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(token_begin)}"
                )
            return self.src[token_begin:j].lower(), j
        j += 1
        value: list[str] = []
        while j < self.n and self.src[j] != quote:
            if self.src[j] == "&":
                char, end = decode_html_entity(self.src, j)
                if char is not None:
                    value.append(char)
                    j = end
                    continue
            value.append(self.src[j])
            j += 1
        if j >= self.n:
            raise EntityParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        return "".join(value), j + 1

    def tag_argument(self, tag: str, attributes: dict[str, str], begin: int) -> str:
        """Pick the one attribute that matters for ``tag`` (href, class, emoji-id, ...)."""
        if tag == "a":
            return attributes.get("href", "")
        if tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise EntityParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            return "spoiler"
        if tag == "code":
            css = attributes.get("class", "")
            return css[len("language-") :] if css.startswith("language-") else ""
        if tag == "tg-emoji":
            return attributes.get("emoji-id", "")
        if tag == "blockquote":
            return "expandable" if "expandable" in attributes else ""
        if tag == "tg-time":
            return f"{attributes.get('unix', '')}|{attributes.get('format', '')}"
        return ""

    def end_tag(self, begin: int) -> int:
        """Parse ``</tag>`` starting at ``begin`` and close the innermost open tag."""
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        j = begin + 2
        while j < self.n and self.src[j] not in _SPACES and self.src[j] != ">":
            j += 1
        end_name = self.src[begin + 2 : j].lower()
        j = self.skip_spaces(j)
        if j >= self.n or self.src[j] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        opened = self.stack[-1]
        if end_name and end_name != opened.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, expected "
                f'"</{opened.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        self.close(opened)
        return j + 1

    def close(self, opened: _OpenTag) -> None:
        """Turn a closed tag into an entity (empty ranges produce none, like Telegram)."""
        length = self.offset16 - opened.offset16
        if opened.name == "code" and opened.argument and self.stack:
            parent = self.stack[-1]
            if parent.name == "pre":
                parent.language = opened.argument
                return
        if length <= 0:
            return
        entity = self.make_entity(opened, length)
        if entity is not None:
            self.entities.append(entity)

    def make_entity(self, opened: _OpenTag, length: int) -> dict[str, Any] | None:
        """Build the MessageEntity dict for a closed tag, or None if it yields none."""
        kind = _TAG_ENTITY[opened.name]
        entity: dict[str, Any] = {"type": kind, "offset": opened.offset16, "length": length}
        if kind == "text_link":
            if not opened.argument:
                return None
            entity["url"] = opened.argument
        elif kind == "pre" and opened.language:
            entity["language"] = opened.language
        elif kind == "blockquote" and opened.argument:
            entity["type"] = "expandable_blockquote"
        elif kind == "custom_emoji":
            if not opened.argument:
                return None
            entity["custom_emoji_id"] = opened.argument
        elif kind == "date_time":
            unix, _, fmt = opened.argument.partition("|")
            if not unix.isdigit():
                return None
            entity["unix_time"] = int(unix)
            if fmt:
                entity["date_time_format"] = fmt
        return entity


def decode_html_entity(text: str, i: int) -> tuple[str | None, int]:
    """Decode the HTML entity starting at ``text[i] == '&'`` the way TDLib does.

    Returns ``(character, index after the entity)`` or ``(None, i)`` when the
    ampersand does not start a supported entity.  The trailing ``;`` is optional.
    """
    n = len(text)
    j = i + 1
    if j < n and text[j] == "#":
        j += 1
        hexadecimal = j < n and text[j] in "xX"
        if hexadecimal:
            j += 1
        digits_begin = j
        allowed = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while j < n and text[j] in allowed:
            j += 1
        digits = text[digits_begin:j]
        if not digits or len(digits) > 8:
            return None, i
        code = int(digits, 16 if hexadecimal else 10)
        if code == 0 or code > _MAX_CODE_POINT or 0xD800 <= code <= 0xDFFF:
            return None, i
        char = chr(code)
    else:
        while j < n and text[j].isascii() and text[j].isalpha():
            j += 1
        named = _NAMED_ENTITIES.get(text[i + 1 : j])
        if named is None:
            return None, i
        char = named
    if j < n and text[j] == ";":
        j += 1
    return char, j


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML; raises :class:`EntityParseError` like the real server."""
    return _HtmlParser(source).run()


_MD_MARKUP = "*_~|`["
_MD_V2_RESERVED = ">#+-={}.!)]("


def parse_markdown(source: str, *, v2: bool) -> ParsedText:
    """Plain-text fallback for Markdown/MarkdownV2: strip escapes and markup, no entities.

    For MarkdownV2 an unescaped reserved character outside markup raises
    :class:`EntityParseError`, the most common mistake with that mode.
    """
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            out.append(source[i + 1])
            i += 2
            continue
        if ch == "]" and i + 1 < n and source[i + 1] == "(":
            close = source.find(")", i + 2)
            if close < 0:
                raise EntityParseError("Can't find end of a URL")
            i = close + 1
            continue
        if ch in _MD_MARKUP:
            i += 1
            continue
        if v2 and ch in _MD_V2_RESERVED and not (ch == ">" and (i == 0 or source[i - 1] == "\n")):
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(ch)
        i += 1
    return ParsedText("".join(out), [])


def _trim(parsed: ParsedText) -> ParsedText:
    """Strip leading/trailing whitespace as Telegram does, keeping entities aligned."""
    text = parsed.text
    stripped = text.strip(_TRIM)
    if stripped == text:
        return parsed
    lead16 = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    total16 = utf16_len(stripped)
    entities: list[dict[str, Any]] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead16, 0)
        end = min(entity["offset"] + entity["length"] - lead16, total16)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)
