"""Two neighbouring stations for the tests (docs/stations.example.geojson): Nanjing Road holds
CENTRE, the tests' usual last-seen place; The Bund begins about 475 m east of it, so a first
ring of 300 m stays at home and a second of 1,000 m crosses the border."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fakegram import FakeBotApi, FakeChat, FakeUser
from searchbot.cases.stations import import_stations
from tests.world import CENTRE, World, offset

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "stations.example.geojson"
WEST_DESK, EAST_DESK = -100201, -100202
WEST_CHIEF, EAST_CHIEF = 9101, 9201
EAST_OF_BORDER = offset(CENTRE, 0, 700)  # inside The Bund, 700 m from CENTRE
DEEP_EAST = offset(CENTRE, 0, 1500)  # inside The Bund, a first ring's width from the border
OUTSIDE = offset(CENTRE, 5000)  # north of both areas


@dataclass
class District:
    west_desk: FakeChat
    east_desk: FakeChat
    west_chief: FakeUser
    east_chief: FakeUser


async def district(world: World, fake: FakeBotApi) -> District:
    """The two stations imported, their officers' groups and their chiefs (who started the
    bot, so that their private chats hear their stations' news)."""
    await import_stations(world.services.sessions, EXAMPLE, world.clock())
    west = fake.user(WEST_CHIEF, first_name="Chief West", language_code="en")
    east = fake.user(EAST_CHIEF, first_name="Chief East", language_code="en")
    west_desk = fake.group(chat_id=WEST_DESK, title="Nanjing Road desk", admins=[WEST_CHIEF])
    east_desk = fake.group(chat_id=EAST_DESK, title="The Bund desk", admins=[EAST_CHIEF])
    for chief in (west, east):
        await world.says(chief, "/start")
    return District(west_desk, east_desk, west, east)


def texts(fake: FakeBotApi, chat: FakeChat | FakeUser | int) -> list[str]:
    return [m.body for m in fake.messages(chat)]
