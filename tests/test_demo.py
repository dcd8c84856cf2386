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
