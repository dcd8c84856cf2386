"""A database made by the release before stations (migration 0011) upgrades with its cases,
groups and officers in the default station, and the bot serves them as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import MetaData, Table, insert, text
from sqlalchemy.engine import Connection

from fakegram import FakeBotApi
from searchbot.domain.grid import cells_of
from searchbot.models import db
from tests.world import CENTRE, OFFICER_ID, World, offset, world_settings

PREVIOUS_HEAD = "0011"  # the last release's head: paid broadcast (0012) came with stations


def _to(connection: Connection, url: str, revision: str) -> None:
    config = db.alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _fill(connection: Connection) -> None:
    """A case, an approved group near it and an appointed officer, as 0011 stored them."""
    meta = MetaData()
    cases, groups, officers = (
        Table(name, meta, autoload_with=connection) for name in ("cases", "groups", "officers")
    )
    now = datetime.now(UTC) - timedelta(minutes=5)
    lat, lon = CENTRE
    connection.execute(
        insert(cases).values(
            status="open", reporter_user_id=5001, reporter_chat_id=5001, language="en",
            name="Old case", age=6, sex="f", description="red coat", photo_file_ids=[],
            place_text="Old gate", lat=lat, lon=lon, center_lat=lat, center_lon=lon,
            last_seen_at=now, created_at=now, stage=0, next_stage_at=now + timedelta(hours=1),
        )
    )  # fmt: skip
    glat, glon = offset(CENTRE, 60)
    fine, coarse = cells_of(glat, glon)
    connection.execute(
        insert(groups).values(
            chat_id=-301, title="Old tea shop", role="merchant", status="approved", lat=glat,
            lon=glon, cell_fine=fine, cell_coarse=coarse, language="en", registered_by=7301,
            created_at=now, decided_at=now, decided_by=OFFICER_ID,
        )
    )  # fmt: skip
    connection.execute(
        insert(officers).values(user_id=OFFICER_ID, added_by=9000, added_at=now, active=True)
    )


async def test_a_database_of_the_previous_release_upgrades_and_serves_as_before(
    fake: FakeBotApi, empty_database_url: str
) -> None:
    url = empty_database_url
    engine = db.create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to, url, PREVIOUS_HEAD)
            await connection.run_sync(_fill)
        await db.upgrade(engine)
        async with engine.connect() as connection:
            owners = (await connection.execute(text("SELECT station_id FROM cases"))).all()
            groups = (await connection.execute(text("SELECT station_id FROM groups"))).all()
        assert owners == [(None,)] and groups == [(None,)]  # the default station's
    finally:
        await engine.dispose()

    fake.group(chat_id=-301, title="Old tea shop", admins=[7301])
    fake.group(chat_id=-900, title="Officers", admins=[OFFICER_ID])
    async with World(fake, world_settings(fake, url, SEARCHBOT_OFFICER_CHAT_ID=-900)) as world:
        officer = fake.user(OFFICER_ID, first_name="Officer Li", language_code="en")
        listing = await world.says(officer, "/cases")
        assert "#1" in listing.body  # the old case, for the old officer
        family = fake.user(5002, first_name="Father", language_code="en")
        case = await world.report(family, offset(CENTRE, 20))
        await world.settle()
        alerts = [m for m in fake.messages(-301) if m.photo_file_id]
        assert any(f"#{case}" in (m.caption or "") for m in alerts)  # the old group alerted
        card = [m for m in fake.messages(-900) if f"#{case}" in m.body]
        assert card  # the officers' group as before
        assert not any("Hand over" in " ".join(m.button_texts) for m in card)  # one station
