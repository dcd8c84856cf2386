"""The demo plays a whole search, a found child matched to the report included."""

from __future__ import annotations

import pytest

from searchbot.demo import run_demo


@pytest.mark.slow
async def test_the_demo_shows_a_found_child_matched(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(groups=12) == 0
    out = capsys.readouterr().out
    assert "CHILD FOUND ALONE F1" in out and "🤝 Match #1" in out
    assert "a child who may be yours is at" in out
    assert "Handover checklist complete" in out and "After-action report #1" in out
    assert "Your job:" in out and "Exit watched:" in out


@pytest.mark.slow
async def test_the_two_station_demo_crosses_a_border_hands_over_and_closes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from searchbot.demo import run_stations_demo

    assert await run_stations_demo(groups=12) == 0
    out = capsys.readouterr().out
    assert "Case #1 of Nanjing Road: its ring 2" in out and "[🤝 Join]" in out
    assert "The Bund joined case #1" in out
    assert "Case #1 moved from Nanjing Road to The Bund" in out
    assert "belongs to another station" in out
    assert "Alert photos left in groups after closing: 0." in out
