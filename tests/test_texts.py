"""Texts: both catalogs complete, values escaped, times understood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from searchbot.clock import LOCAL, parse_when
from searchbot.texts import EN, ZH, Raw, language_of, say


def test_catalogs_have_the_same_messages() -> None:
    assert set(EN) == set(ZH)


def test_placeholders_match_between_languages() -> None:
    import string

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    for key in EN:
        assert fields(EN[key]) == fields(ZH[key]), key


def test_values_are_escaped_but_raw_values_are_not() -> None:
    text = say("en", "no_such_case", ref="<b>#1</b> & co")
    assert "&lt;b&gt;#1&lt;/b&gt; &amp; co" in text
    assert "<i>x</i>" in say("en", "no_such_case", ref=Raw("<i>x</i>"))


def test_telegram_language_codes() -> None:
    assert language_of("zh-hans", "en") == "zh"
    assert language_of("en-GB", "zh") == "en"
    assert language_of("fr", "zh") == "zh"
    assert language_of(None, "en") == "en"


def test_when_answers() -> None:
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 in China
    assert parse_when("now", now) == now
    assert parse_when("刚刚", now) == now
    assert parse_when("20 min", now) == now - timedelta(minutes=20)
    assert parse_when("20分钟前", now) == now - timedelta(minutes=20)
    assert parse_when("1 hour ago", now) == now - timedelta(hours=1)
    assert parse_when("13:30", now) == datetime(2026, 11, 23, 13, 30, tzinfo=LOCAL)
    assert parse_when("23:50", now) == datetime(2026, 11, 22, 23, 50, tzinfo=LOCAL)
    assert parse_when("25:00", now) is None
    assert parse_when("abc", now) is None
