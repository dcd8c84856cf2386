"""Paid broadcast's rules (searchbot/domain/broadcast.py): which alerts of a ring are worth
paying for, what a balance and a budget buy, and how the cost reads."""

from __future__ import annotations

from decimal import Decimal

from searchbot.domain.broadcast import affordable, cost_of, messages_for, paid_share, stars_text


def test_only_a_ring_wider_than_ten_seconds_of_the_free_rate_goes_paid() -> None:
    assert paid_share(300, 30, budget_left=5000) == 0  # the free rate sends it in 10 s
    assert paid_share(301, 30, budget_left=5000) == 301
    assert paid_share(5000, 30, budget_left=200) == 200  # the nearest 200; the rest go free
    assert paid_share(5000, 30, budget_left=0) == 0
    assert paid_share(40, 3, budget_left=10) == 10  # a slower free rate: a smaller ring


def test_the_balance_keeps_telegrams_minimum_and_stars_buy_whole_messages() -> None:
    assert affordable(Decimal("10029")) == 290
    assert affordable(Decimal("10000")) == 0 and affordable(Decimal("9000")) == 0
    assert affordable(Decimal("10000.25")) == 2  # a part of a message is not a message
    assert messages_for(Decimal("12.5")) == 125 and messages_for(Decimal(0)) == 0
    assert cost_of(4700) == Decimal("470.0")


def test_stars_read_as_people_read_them() -> None:
    assert stars_text(cost_of(200)) == "20"
    assert stars_text(cost_of(3)) == "0.3"
    assert stars_text(Decimal("12345.6")) == "12,345.6"
