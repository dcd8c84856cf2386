"""The matching score: a found child against a missing one (pure function, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from searchbot.cases.matching import Person, score
from searchbot.telling.found_child import for_family
from tests.world import CENTRE, offset

LOST_AT = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def missing(age: int | None = 6, sex: str | None = "m") -> Person:
    return Person(*CENTRE, LOST_AT, age, sex)


def found(
    metres: float = 150, minutes: float = 10, age: int | None = 6, sex: str | None = "m"
) -> Person:
    return Person(*offset(CENTRE, metres), LOST_AT + timedelta(minutes=minutes), age, sex)


def test_near_and_soon_scores_high_and_far_scores_lower() -> None:
    near, farther = score(missing(), found(150)), score(missing(), found(900))
    assert near is not None and farther is not None
    assert near > farther > 0
    assert near > 0.8


def test_out_of_reach_in_the_time_is_no_match() -> None:
    assert score(missing(), found(2500, minutes=5)) is None  # 2.5 km in 5 minutes
    assert score(missing(), found(2500, minutes=60)) is not None  # an hour later it is possible


def test_the_sexes_must_agree_when_both_are_known() -> None:
    assert score(missing(sex="m"), found(sex="f")) is None
    unknown = score(missing(sex="m"), found(sex="u"))
    same = score(missing(sex="m"), found(sex="m"))
    assert unknown is not None and same is not None and same > unknown


def test_age_is_a_guess_within_a_few_years() -> None:
    exact, off_by_two = score(missing(age=6), found(age=6)), score(missing(age=6), found(age=8))
    assert exact is not None and off_by_two is not None and exact > off_by_two
    assert score(missing(age=6), found(age=12)) is None
    assert score(missing(age=None), found(age=12)) is not None


def test_time_order() -> None:
    assert score(missing(), found(minutes=-120)) is None  # found long before lost
    assert score(missing(), found(minutes=-10)) is not None  # clocks and guesses differ a little
    assert score(missing(), found(minutes=60 * 25)) is None  # a day later: another story
    soon, later = score(missing(), found(minutes=5)), score(missing(), found(minutes=300))
    assert soon is not None and later is not None and soon > later


def test_phones_are_masked_for_the_family_but_coordinates_are_not() -> None:
    assert "13900139000" not in for_family("call me 139 0013 9000 at the gate", "en")
    assert for_family("31.23175, 121.47370", "en") == "31.23175, 121.47370"
    assert for_family("East gate, shop 12", "en") == "East gate, shop 12"
