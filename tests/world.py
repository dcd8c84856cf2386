"""The end-to-end tests play in the same world as the demo, with one difference: the bot's tick
comes round every five seconds, not five times a second. Tests that need a stage, a reminder or
an exit check move the World's clock and run the tick themselves (``World.later``), so a faster
background tick would only spend the two cores the suite shares on empty database queries."""

from typing import Any

from fakegram import FakeBotApi
from searchbot import rehearsal
from searchbot.rehearsal import (
    ADMIN_ID,
    CENTRE,
    OFFICER_ID,
    MovableClock,
    World,
    offset,
)
from searchbot.settings import Settings, load_settings

TEST_DEFAULTS: dict[str, Any] = {
    "SEARCHBOT_TICK_SECONDS": 5.0,
    # On PostgreSQL the bot leads on a lease renewed every second; a worker among eight on two
    # busy cores can hold its event loop for seconds (a chart drawn), and a lapsed lease means
    # a halt and a new start. tests/test_instances.py tests the lease with its own timeouts.
    "SEARCHBOT_LEADER_TIMEOUT": 30.0,
}


def world_environment(fake: FakeBotApi, database_url: str, **overrides: Any) -> dict[str, str]:
    """``rehearsal.world_environment`` with the tests' defaults (``overrides`` win)."""
    return rehearsal.world_environment(fake, database_url, **{**TEST_DEFAULTS, **overrides})


def world_settings(fake: FakeBotApi, database_url: str, **overrides: Any) -> Settings:
    return load_settings(**world_environment(fake, database_url, **overrides))


__all__ = [
    "ADMIN_ID",
    "CENTRE",
    "OFFICER_ID",
    "MovableClock",
    "World",
    "offset",
    "world_environment",
    "world_settings",
]
