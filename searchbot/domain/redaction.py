"""Contact details out of free text: phone numbers, e-mail addresses and messenger handles.

Families type "call me on 138 0013 8000" or "微信 abc123" into a description, and sighters into
their notes. Strangers (the groups, a sighter) and the family reading a sighter's note must not
get them: an alert is a known tool for people hunting someone, or for extortion. Officers
still read the text as it was typed; only what others see is redacted, when it is shown.

Matching runs on a *shadow* of the text with the same length, where each character is
normalised on its own (full-width ``１３８`` and ``＠`` to ASCII, other scripts' digits and
Chinese numerals to ``0-9``), so spans found in the shadow cut the original text in the same
places. It errs on the side of removing: a long number in a description is more likely a phone
than anything a stranger needs to recognise a child.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

MARKER = "[contact removed]"

# Chinese numerals people use to slip a number past a filter (幺 is "one" read out in numbers).
_CHINESE_DIGITS = dict(zip("零〇一二三四五六七八九幺", "001234567891", strict=True))
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_HANDLE = re.compile(r"(?<![A-Za-z0-9_.@])@[A-Za-z0-9_]{3,32}")
_MESSENGER_LINK = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.(?:me|dog)|wa\.me|(?:api|chat)\.whatsapp\.com"
    r"|line\.me|lin\.ee|u\.wechat\.com|weixin\.qq\.com|(?:qm|im)\.qq\.com|signal\.(?:me|group)"
    r"|m\.me|discord\.gg|(?:instagram|facebook|vk|weibo|douyin|xiaohongshu)\.com|fb\.me)"
    r"/[^\s<>\"'，。]*"
    r"|tg://[^\s<>\"'，。]*",
    re.IGNORECASE,
)
# A messenger named before an id: "wechat: xyz", "微信 xyz", "QQ 123456", "加我vx abc_1".
# Words that also mean something else ("line", "signal") need a colon or "id" after them.
_ID = r"@?[A-Za-z0-9_][A-Za-z0-9_.\-]{2,63}"
_STRONG = (
    r"we\s?chat|weixin|whats\s?app|telegram|skype|viber|kakao(?:\s?talk)?|qq|vx|wx"
    r"|微信|威信|薇信|v信|电报|扣扣"
)
_WEAK = r"line|signal|tg|ig|insta(?:gram)?|wa|fb|facebook|discord|snap(?:chat)?"
_SUFFIX = r"(?:\s*(?:id|号|號|账号|帳號|帐号|号码))?"
_SAID = r"\s*(?:[:=：]|is|是|为)?\s*"
_LABELLED = re.compile(
    rf"(?<![A-Za-z])(?:(?:{_STRONG}){_SUFFIX}{_SAID}|(?:{_WEAK})(?:\s*id\s*[:=：]?|\s*[:=：])\s*)"
    rf"{_ID}",
    re.IGNORECASE,
)
# Digits with at most three separators between each two: 138 0013 8000, +86 (0)21-1234-5678.
_PHONE = re.compile(r"(?<!\d)\+?[(\[]?\d(?:[\s\-.()\[\]/_]{0,3}\d){6,}")
_DECIMAL = re.compile(r"\d+\.\d+")  # a coordinate or a height, not a phone
_DATE = re.compile(r"\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{4}")
PHONE_DIGITS_MIN = 7


def redact(text: str | None, marker: str = MARKER, also: Iterable[str | None] = ()) -> str:
    """``text`` with every phone number, e-mail address and messenger handle or link replaced
    by ``marker``; ``also``: known contacts (the family's own) to take out however written."""
    if not text:
        return ""
    return _redact(text, marker, tuple(c.strip() for c in also if c and c.strip()))


@lru_cache(maxsize=256)
def _redact(text: str, marker: str, known: tuple[str, ...]) -> str:
    """Cached: a ring's alerts redact the same description once per group."""
    spans = _spans(text, known)
    if not spans:
        return text
    parts, at = [], 0
    for start, end in spans:
        parts += [text[at:start], marker]
        at = end
    parts.append(text[at:])
    return "".join(parts)


def has_contact(text: str | None, also: Iterable[str | None] = ()) -> bool:
    """Whether ``text`` holds anything ``redact`` would take out."""
    return bool(text) and redact(text, also=also) != text


def shadow(text: str) -> str:
    """``text`` normalised character by character, keeping every index where it was."""
    return "".join(_plain(char) for char in text)


@lru_cache(maxsize=4096)
def _plain(char: str) -> str:
    if char in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[char]
    if char in _DASHES:
        return "-"
    if char.isspace():
        return " "
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


def _spans(text: str, known: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where contact details are, merged and in order."""
    seen = shadow(text)
    found = [m.span() for pattern in (_EMAIL, _MESSENGER_LINK, _LABELLED, _HANDLE)
             for m in pattern.finditer(seen)]  # fmt: skip
    found += [m.span() for m in _PHONE.finditer(seen) if _is_phone(m.group())]
    for contact in known:
        pattern = _known_pattern(shadow(contact))
        if pattern is not None:
            found += [m.span() for m in pattern.finditer(seen)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _is_phone(run: str) -> bool:
    body = run.lstrip("+([")
    if _DECIMAL.fullmatch(body):
        return False
    date = _DATE.match(body)
    rest = body[date.end() :] if date else body
    return sum(ch.isdigit() for ch in rest) >= PHONE_DIGITS_MIN


@lru_cache(maxsize=64)
def _known_pattern(contact: str) -> re.Pattern[str] | None:
    """A known contact as typed, and, when it is a phone number, its digits with any separators
    between them, also without the country code (``+86 138…`` is often typed ``138…``, and a
    national ``0`` may replace it); None when there is nothing safe to look for."""
    ways = [re.escape(contact)] if len(contact) >= 4 else []
    for digits in sorted(_phone_forms(contact), key=len, reverse=True):
        ways.append(r"\+?" + r"[\s\-.()/]*".join(digits))
    return re.compile("|".join(ways), re.IGNORECASE) if ways else None


def _phone_forms(contact: str) -> set[str]:
    """The digit strings a phone number may be written as (at least five digits each: the
    report takes a contact of five digits or more)."""
    digits = re.sub(r"\D", "", contact)
    forms = {digits}
    if contact.startswith("+") or digits.startswith("00"):
        bare = digits[2:] if digits.startswith("00") else digits
        for code in (1, 2, 3):
            forms |= {bare[code:], "0" + bare[code:]}
    return {form for form in forms if len(form) >= 5}
