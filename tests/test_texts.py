"""Texts: both catalogs complete, values escaped, times understood."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po

from searchbot.cases import found, reporting, sightings
from searchbot.cases.closing import OUTCOMES
from searchbot.cases.found import CHECKLIST
from searchbot.cases.playbooks import DIRECTIONS
from searchbot.cases.registration import ROLES
from searchbot.cases.reporting import FIELDS
from searchbot.domain.clock import local_hhmm, parse_when
from searchbot.operations.records import CHART_LABELS
from searchbot.telegram.menus import GROUPS, OFFICERS, PRIVATE
from searchbot.words.texts import CATALOGS, EN, LOCALE, ZH, Raw, language_of, say


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
    china = ZoneInfo("Asia/Shanghai")
    assert parse_when("13:30", now) == datetime(2026, 11, 23, 13, 30, tzinfo=china)
    assert parse_when("23:50", now) == datetime(2026, 11, 22, 23, 50, tzinfo=china)
    assert parse_when("25:00", now) is None
    assert parse_when("abc", now) is None


def test_the_station_clock_follows_its_zone() -> None:
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")  # 07:00 there, winter time
    assert local_hhmm(now) == "14:00"  # the default station is in China
    assert local_hhmm(now, berlin) == "07:00"
    assert parse_when("06:45", now, berlin) == datetime(2026, 11, 23, 5, 45, tzinfo=UTC)


SOURCES = [
    path
    for folder in ("searchbot", "handlers")
    for path in (Path(__file__).resolve().parent.parent / folder).rglob("*.py")
]
LITERAL = re.compile(r'(?:say|plain)\(\s*[\w.]+,\s*"([a-z0-9_]+)"')
REFUSAL = re.compile(r'Refusal\(\s*"([a-z0-9_]+)"')  # a parser's re-ask (cases/answers.py)
DYNAMIC = re.compile(r'say\(\s*[\w.]+,\s*f"([a-z_]+)\{')
# Every message id built at run time: its prefix and the values that complete it.
KNOWN_DYNAMIC: dict[str, tuple[str, ...]] = {
    "status_": ("locating", "pending", "approved", "rejected", "inactive"),
    "role_": ROLES,
    "outcome_": OUTCOMES,
    "sex_": ("m", "f", "u"),
    "field_": FIELDS,
    "cmd_": PRIVATE + GROUPS + OFFICERS,
    "chart_": CHART_LABELS,
    "check_": CHECKLIST,
    "playbook_": ROLES,
    "dir_": DIRECTIONS,
}


def used_message_ids() -> tuple[set[str], set[str]]:
    literal, prefixes = set(), set()
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        literal |= set(LITERAL.findall(source)) | set(REFUSAL.findall(source))
        prefixes |= set(DYNAMIC.findall(source))
    return literal, prefixes


def test_every_message_id_in_the_code_is_in_every_catalog() -> None:
    literal, prefixes = used_message_ids()
    assert len(literal) > 100  # the scan works
    assert prefixes <= set(KNOWN_DYNAMIC), f"list the values of {prefixes - set(KNOWN_DYNAMIC)}"
    wanted = literal | {p + v for p in prefixes for v in KNOWN_DYNAMIC[p]}
    for lang, catalog in CATALOGS.items():
        assert wanted - set(catalog) == set(), f"missing from the {lang} catalog"


def test_the_catalogs_are_gettext_files() -> None:
    for lang in CATALOGS:
        with (LOCALE / lang / "LC_MESSAGES" / "searchbot.po").open("rb") as handle:
            catalog = read_po(handle)
        assert len(catalog) == len(CATALOGS[lang]) and not catalog.fuzzy


def test_every_text_of_the_dialogue_tables_is_in_every_catalog() -> None:
    """The dialogues' questions and re-asks are named in their step tables, not in ``say``
    calls the scan above finds."""
    wanted: set[str] = set()
    for flow in (reporting.FLOW, sightings.FLOW, found.FLOW):
        for step in flow.steps:
            wanted |= {step.ask, *step.reask.values()}
            if step.gather is not None:
                wanted |= {step.gather.saved, step.gather.full}
        if flow.aside is not None:
            wanted |= {flow.aside.saved, *flow.aside.reask.values()}
    assert len(wanted) > 20  # the walk works
    for lang, catalog in CATALOGS.items():
        assert wanted - set(catalog) == set(), f"missing from the {lang} catalog"
