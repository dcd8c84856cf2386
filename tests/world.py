"""The end-to-end tests play in the same world as the demo."""

from fakegram.rehearsal import (
    ADMIN_ID,
    CENTRE,
    OFFICER_ID,
    MovableClock,
    World,
    offset,
    world_environment,
    world_settings,
)

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
