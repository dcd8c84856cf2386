"""The README's "What each person sees" table is searchbot/telling/notify.py in words: every event
notify tells has its row, every row names a real event, and publishing the event on a migrated
database writes outbox rows for exactly the audiences the row names."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from searchbot import app
from searchbot.cases import desk
from searchbot.cases.services import Services
from searchbot.domain import events
from searchbot.domain.actors import Actor
from searchbot.domain.events import Event
from searchbot.domain.grid import GroupPoint, cells_of
from searchbot.models import (
    Alert,
    Case,
    FoundReport,
    Group,
    GroupRole,
    GroupStatus,
    Officer,
    OutboxMessage,
    OutboxStatus,
    Person,
    Sighting,
    SightingSource,
    Station,
)
from searchbot.models.db import Sessions
from searchbot.models.doorbell import Doorbell
from searchbot.models.outbox import ALERTS
from searchbot.settings import load_settings
from searchbot.telling import notify

README = Path(__file__).resolve().parent.parent / "README.md"
AUDIENCES = ("family", "officers", "groups", "sighter")

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
OFFICERS_CHAT, FAMILY, SIGHTER, FINDER = -900, 5001, 7001, 7002
ALERTED, WAITING = -101, -102  # an approved group holding the alert; a pending request
CENTRE = (31.2304, 121.4737)


def readme_table() -> dict[str, set[str]]:
    """Event name -> the audiences its README row says hear something."""
    section = README.read_text().split("### What each person sees", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        match = re.fullmatch(r"\| `(\w+)` \|(.*)\|", line.strip())
        if match is None:
            continue
        cells = [cell.strip() for cell in match.group(2).split("|")]
        assert len(cells) == len(AUDIENCES), line
        assert match.group(1) not in rows, f"two rows for {match.group(1)}"
        rows[match.group(1)] = {
            a for a, cell in zip(AUDIENCES, cells, strict=True) if cell[:1] != "—"
        }
    return rows


@dataclass
class Seeded:
    case_id: int
    sighting_id: int
    alert_row_id: int
    group: GroupPoint
    found_id: int
    station_id: int  # a neighbouring station (far away) whose officers' group is OFFICERS_CHAT


# How each event is published in the seeded world: an unverified open case at stage 0 whose
# first ring alerted one group (the alert sent), one sighting from that group still held back
# from the family, one group waiting for approval, and a child found nearby waiting for a match.
SCENARIOS: dict[str, Callable[[Seeded], Event]] = {
    "CaseOpened": lambda s: events.CaseOpened(s.case_id, FAMILY, "Mother"),
    "GroupsAlerted": lambda s: events.GroupsAlerted(s.case_id, 300, ((80.0, s.group),), ("t",)),
    "StageReached": lambda s: events.StageReached(s.case_id, 0, 1),
    "ExitsUnwatched": lambda s: events.ExitsUnwatched(s.case_id, ("North gate",), 10),
    "CaseVerified": lambda s: events.CaseVerified(s.case_id, "Officer"),
    "SightingRecorded": lambda s: events.SightingRecorded(s.sighting_id),
    "SightingJudged": lambda s: events.SightingJudged(s.sighting_id, True, "Officer", 0),
    "CloseRequested": lambda s: events.CloseRequested(s.case_id, "found", "home"),
    "CaseClosed": lambda s: events.CaseClosed(s.case_id, "found", "home", "Officer"),
    "AlertOutlivedCase": lambda s: events.AlertOutlivedCase(s.case_id, s.alert_row_id),
    "GroupRegistered": lambda s: events.GroupRegistered(WAITING),
    "GroupDecided": lambda s: events.GroupDecided(WAITING, True),
    "GroupUnregistered": lambda s: events.GroupUnregistered(WAITING, True),
    "RecipientGone": lambda s: events.RecipientGone(WAITING, "Shop", True),
    "ChildFound": lambda s: events.ChildFound(s.found_id),
    "ChildMatched": lambda s: events.ChildMatched(s.found_id, s.case_id, "Officer"),
    "CaseStillOpen": lambda s: events.CaseStillOpen(s.case_id),
    "VerificationOverdue": lambda s: events.VerificationOverdue(),
    "SendsInDoubt": lambda s: events.SendsInDoubt(3),
    "DeliveryFailed": lambda s: events.DeliveryFailed(s.alert_row_id, s.case_id, ALERTED, "403"),
    "PhotoStuck": lambda s: events.PhotoStuck(s.alert_row_id, s.case_id, "Shop", ALERTED),
    "LeadershipMoved": lambda s: events.LeadershipMoved(1),
    "DeliveryLate": lambda s: events.DeliveryLate(120),
    "StarsShort": lambda s: events.StarsShort(s.case_id, 40, Decimal("10003.5")),
    "RingCrossedBorder": lambda s: events.RingCrossedBorder(s.case_id, s.station_id, 1, 1000),
    "StationJoined": lambda s: events.StationJoined(s.case_id, s.station_id, "Officer"),
    "CaseHandedOver": lambda s: events.CaseHandedOver(s.case_id, None, s.station_id, "Officer"),
}
FAR_AREA = (
    '{"type": "Polygon", "coordinates": [[[100.0, 10.0], [100.1, 10.0], [100.1, 10.1], '
    "[100.0, 10.1], [100.0, 10.0]]]}"
)


def test_every_event_has_one_row_and_every_row_a_real_event() -> None:
    told = {event.__name__ for event in notify.TELLERS}
    assert set(readme_table()) == told
    assert set(SCENARIOS) == told
    for name in told:  # each is an event of searchbot/domain/events.py
        assert getattr(events, name) in notify.TELLERS


@pytest.mark.parametrize("name", sorted(readme_table()))
async def test_the_row_names_who_hears(sessions: Sessions, name: str) -> None:
    services = app.services_for(
        load_settings(
            DATABASE_URL="sqlite+aiosqlite://",
            SEARCHBOT_OFFICER_CHAT_ID=str(OFFICERS_CHAT),
            SEARCHBOT_ESCALATION="0:300,1h:1000",
            SEARCHBOT_LANGUAGE="en",
        ),
        sessions,
        Doorbell(),
        lambda: NOW,
    )
    seeded = await seed(sessions)
    async with sessions() as session:
        before = (await session.exec(select(func.max(OutboxMessage.id)))).one() or 0
        await services.publish(session, SCENARIOS[name](seeded))
        await session.commit()
        chats = set(
            (
                await session.exec(
                    select(OutboxMessage.chat_id).where(col(OutboxMessage.id) > before)
                )
            ).all()
        )
    audience = {
        OFFICERS_CHAT: "officers", FAMILY: "family", ALERTED: "groups", WAITING: "groups",
        SIGHTER: "sighter", FINDER: "sighter",
    }  # fmt: skip
    assert chats <= set(audience), f"{name} wrote to a chat no one seeded: {chats}"
    assert {audience[chat] for chat in chats} == readme_table()[name]


async def seed(sessions: Sessions) -> Seeded:
    async with sessions() as session:
        case = Case(
            reporter_user_id=FAMILY, reporter_chat_id=FAMILY, language="en", name="Xiao Ming",
            age=6, sex="m", description="red coat", place_text="the fountain",
            lat=CENTRE[0], lon=CENTRE[1], center_lat=CENTRE[0], center_lon=CENTRE[1],
            last_seen_at=NOW, created_at=NOW,
        )  # fmt: skip
        session.add(case)
        groups = {}
        for chat_id, status in ((ALERTED, GroupStatus.APPROVED), (WAITING, GroupStatus.PENDING)):
            lat, lon = CENTRE[0] + 0.0005, CENTRE[1]
            fine, coarse = cells_of(lat, lon)
            groups[chat_id] = Group(
                chat_id=chat_id, title="Shop", role=GroupRole.MERCHANT, status=status, lat=lat, lon=lon,
                cell_fine=fine, cell_coarse=coarse, language="en", registered_by=1,
                created_at=NOW,
            )  # fmt: skip
            session.add(groups[chat_id])
        await session.flush()
        alerted_id = groups[ALERTED].id
        assert case.id is not None and alerted_id is not None
        session.add(
            Alert(case_id=case.id, group_id=alerted_id, stage=0, distance_m=55.0,
                  created_at=NOW, token="t0")
        )  # fmt: skip
        sent = OutboxMessage(
            case_id=case.id, chat_id=ALERTED, kind="alert", lane=ALERTS, payload={},
            status=OutboxStatus.SENT, message_id=77, next_attempt_at=NOW, created_at=NOW,
        )  # fmt: skip
        sighting = Sighting(
            case_id=case.id, reporter_user_id=SIGHTER, reporter_name="Passer-by",
            group_chat_id=ALERTED, source=SightingSource.REPLY, lat=CENTRE[0] + 0.001, lon=CENTRE[1],
            place_text="the gate", note="near the gate", seen_at=NOW, created_at=NOW,
        )  # fmt: skip
        child = FoundReport(
            reporter_user_id=FINDER, reporter_chat_id=FINDER, reporter_name="Finder",
            language="en", age=6, sex="m", description="red coat", place_text="the gate",
            lat=CENTRE[0] + 0.001, lon=CENTRE[1], contact="+8613800138000", created_at=NOW,
        )  # fmt: skip
        station = Station(name="Neighbour", officer_chat_id=OFFICERS_CHAT, geometry=FAR_AREA,
                          updated_at=NOW)  # fmt: skip
        session.add_all([sent, sighting, child, station])
        await session.flush()
        assert station.id is not None
        assert sent.id is not None and sighting.id is not None and child.id is not None
        waiting = groups[WAITING]
        point = GroupPoint(waiting.id or 0, WAITING, "en", waiting.lat or 0, waiting.lon or 0,
                           GroupRole.MERCHANT)  # fmt: skip
        await session.commit()
        return Seeded(case.id, sighting.id, sent.id, point, child.id, station.id)


def services_for(sessions: Sessions, **env: str) -> Services:
    settings = {
        "DATABASE_URL": "sqlite+aiosqlite://",
        "SEARCHBOT_OFFICER_CHAT_ID": str(OFFICERS_CHAT),
        "SEARCHBOT_ESCALATION": "0:300,1h:1000",
        "SEARCHBOT_LANGUAGE": "en",
    }
    return app.services_for(load_settings(**(settings | env)), sessions, Doorbell(), lambda: NOW)


async def test_a_found_child_card_never_reaches_an_officer_removed_before_it_went(
    sessions: Sessions,
) -> None:
    """The found card (photo, the finder's name and phone) is officers' news like every other:
    removing the officer cancels the copy still queued for their private chat. It went
    around ``tell_officers`` before and kept going to the removed officer."""
    officer, admin = 8101, 8100
    services = services_for(sessions, SEARCHBOT_ADMIN_IDS=str(admin))
    seeded = await seed(sessions)
    async with sessions() as session:
        session.add(Officer(user_id=officer, added_by=admin, added_at=NOW))
        session.add(Person(user_id=officer, first_name="Li", language="en", updated_at=NOW))
        await services.publish(session, events.ChildFound(seeded.found_id))
        await session.commit()
    answer = await desk.appoint(services, Actor(admin, admin), "remove", officer)
    assert "8101" in answer.messages[0].text
    async with sessions() as session:
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == officer))
        ).all()
    assert {row.kind for row in rows} >= {"found", "pin"}
    assert {row.status for row in rows} == {OutboxStatus.CANCELLED}


async def test_a_chinese_family_reads_the_match_in_chinese(sessions: Sessions) -> None:
    """The finder's words reach the family without contact details, and the marker in their
    place is in the family's language (it was always the English one)."""
    services = services_for(sessions)
    seeded = await seed(sessions)
    async with sessions() as session:
        case = await session.get(Case, seeded.case_id)
        report = await session.get(FoundReport, seeded.found_id)
        assert case is not None and report is not None
        case.language, case.verified_at = "zh", NOW
        report.place_text = "东门 电话 139 0013 9000"
        session.add_all([case, report])
        await session.flush()
        await services.publish(session, events.ChildMatched(seeded.found_id, seeded.case_id, "Li"))
        await session.commit()
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == FAMILY))
        ).all()
    text = " ".join(row.payload.get("text", "") for row in rows)
    assert "东门" in text and "[联系方式已删除]" in text
    assert "[contact removed]" not in text and "0013" not in text
