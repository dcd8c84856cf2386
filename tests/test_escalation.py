"""Rings that widen by themselves: order, the verification gate and its reminders, /escalate,
re-centring on a credible sighting, coverage, restarts, two processes. Stages an hour apart on
the World's clock, which the tests move (``World.later``); the restart and two-process tests
keep second-long stages on the real clock, since a second bot or process does not share it."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

import h3
import pytest
from sqlmodel import select

from fakegram import FakeBotApi, FakeChat
from searchbot.cases import coverage, escalation
from searchbot.domain.grid import distance_m
from searchbot.models import Alert, AuditEntry, Case
from tests.world import CENTRE, MovableClock, World, offset, world_environment, world_settings

REPO = Path(__file__).resolve().parent.parent


def alerted(fake: FakeBotApi, chats: list[FakeChat]) -> list[int]:
    """Chats holding an alert photo (in the order of ``chats``)."""
    return [c.chat_id for c in chats if any(m.photo_file_id for m in fake.messages(c.chat_id))]


def alert_count(fake: FakeBotApi, chat: FakeChat) -> int:
    return len(
        [
            c
            for c in fake.calls
            if c.method == "sendPhoto" and c.ok and int(c.params["chat_id"]) == chat.chat_id
        ]
    )


async def stage_entries(world: World) -> list[int]:
    async with world.services.sessions() as session:
        rows = (await session.exec(select(AuditEntry).where(AuditEntry.action == "stage"))).all()
    return [row.detail["stage"] for row in rows]


async def test_stages_fire_in_order_alert_only_new_groups_and_stop_at_closing(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(
        fake, database_url, SEARCHBOT_ESCALATION="0:300,1h:1000,2h:2500",
        SEARCHBOT_UNVERIFIED_STAGES=9,  # no gate
    )  # fmt: skip
    async with World(fake, settings) as world:
        officer = await world.officer()
        ring1 = await world.seed_groups([offset(CENTRE, 100), offset(CENTRE, -200)], -100)
        ring2 = await world.seed_groups([offset(CENTRE, 700), offset(CENTRE, 0, 900)], -200)
        ring3 = await world.seed_groups([offset(CENTRE, -2000)], -300)
        family = fake.user(5001, first_name="Mother", language_code="en")
        case_id = await world.report(family)
        await world.settle()
        assert alerted(fake, ring1 + ring2 + ring3) == [c.chat_id for c in ring1]

        await world.later(timedelta(minutes=59))  # not before its time
        assert not any("stage 2" in m.body for m in fake.messages(family.user_id))
        assert alerted(fake, ring1 + ring2 + ring3) == [c.chat_id for c in ring1]

        await world.later(timedelta(minutes=1))
        assert alerted(fake, ring1 + ring2 + ring3) == [c.chat_id for c in ring1 + ring2]
        notice = next(m for m in fake.messages(family.user_id) if "stage 2" in m.body)
        assert "2 more groups (4 in all" in notice.body
        assert any("stage 2" in m.body for m in fake.messages(officer.user_id))

        await world.says(officer, f"/close {case_id} found")
        await world.later(timedelta(hours=1, minutes=30))  # past the third stage's time
        assert alerted(fake, ring3) == []
        assert all(alert_count(fake, c) == 1 for c in ring1 + ring2)
        assert await stage_entries(world) == [0, 1]


async def test_the_verification_gate_holds_and_reminds_until_an_officer_verifies(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(
        fake, database_url, SEARCHBOT_ESCALATION="0:300,1h:1000",
        SEARCHBOT_UNVERIFIED_STAGES=1, SEARCHBOT_VERIFY_REMINDER="25m",
    )  # fmt: skip
    async with World(fake, settings) as world:
        officer = await world.officer()
        near = await world.seed_groups([offset(CENTRE, 100)], -100)
        far = await world.seed_groups([offset(CENTRE, 800)], -200)
        family = fake.user(5001, first_name="Mother", language_code="en")
        case_id = await world.report(family)

        def reminders() -> int:
            sent = fake.messages(officer.user_id, include_deleted=True)  # each replaces the last
            return len([m for m in sent if "waited" in m.body])

        await world.later(timedelta(minutes=24))
        assert reminders() == 0
        await world.later(timedelta(minutes=1))
        assert reminders() == 1
        await world.later(timedelta(minutes=25))
        assert reminders() == 2
        await world.later(timedelta(minutes=11))  # the second ring's time has passed
        assert alerted(fake, near + far) == [near[0].chat_id]  # held at the first ring

        def cards() -> int:
            return len([m for m in fake.messages(officer.user_id) if "Not verified yet" in m.body])

        shown = cards()
        await world.says(officer, f"/case {case_id}")
        assert cards() == shown + 1

        await world.says(officer, f"/verify {case_id}")
        await world.later(0)  # the next tick: the ring's time had passed, so it goes out now
        assert alerted(fake, far)
        count = reminders()
        await world.later(timedelta(hours=1))
        assert reminders() == count  # verified and at the widest ring: no more verify reminders
        assert await stage_entries(world) == [0, 1]


async def test_escalate_fires_the_next_ring_now(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    ring2 = await world.seed_groups([offset(CENTRE, 800)], -200)
    ring3 = await world.seed_groups([offset(CENTRE, -2000)], -300)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    answer = await world.says(officer, f"/escalate {case_id}")
    assert "stage 2" in answer.body and "1 more groups" in answer.body
    await world.settle()
    assert alerted(fake, ring2 + ring3) == [ring2[0].chat_id]
    await world.says(officer, f"/escalate #{case_id}")
    await world.settle()
    assert alerted(fake, ring2 + ring3) == [ring2[0].chat_id, ring3[0].chat_id]
    answer = await world.says(officer, f"/escalate {case_id}")
    assert "already at its widest ring" in answer.body


async def test_a_credible_sighting_recentres_the_search(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    (home,) = await world.seed_groups([offset(CENTRE, 100)], -100)
    seen_at = offset(CENTRE, 1600)
    around = await world.seed_groups([offset(seen_at, 100), offset(seen_at, -250)], -200)
    (south,) = await world.seed_groups([offset(CENTRE, -1200)], -300)
    (beyond,) = await world.seed_groups([offset(seen_at, 800)], -400)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()

    alert = next(m for m in fake.messages(home.chat_id) if m.photo_file_id)
    keeper = fake.user(7001, first_name="Keeper", language_code="en")
    fake.send(keeper, chat=home, location=offset(CENTRE, 50), reply_to=alert)  # judged not credible
    fake.send(keeper, chat=home, photo=True, caption="him, walking north", reply_to=alert)
    await world.settle()
    fake.send(keeper, chat=home, location=seen_at, reply_to=alert)
    await world.settle()
    cards = [m for m in fake.messages(officer.user_id) if "Sighting for" in m.body]
    assert len(cards) == 3

    await world.taps(officer, cards[0], "Not credible")
    assert alerted(fake, around + [south, beyond]) == []

    await world.taps(officer, cards[2], "Credible")
    await world.settle()
    assert alerted(fake, around + [south, beyond]) == [c.chat_id for c in around]
    seen_here = next(m for m in fake.messages(around[0].chat_id) if m.photo_file_id)
    assert "SEEN HERE" in seen_here.caption
    assert any("marked credible" in m.body for m in fake.messages(officer.user_id))

    await world.says(officer, f"/escalate {case_id}")  # the 1 km ring now centres on the sighting
    await world.settle()
    assert alerted(fake, [south, beyond]) == [beyond.chat_id]
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert (round(case.center_lat, 6), round(case.center_lon, 6)) == (
            round(seen_at[0], 6),
            round(seen_at[1], 6),
        )


async def test_coverage_counts_rings_and_finds_blind_spots(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    # hand-built: groups in the centre cell and in two neighbouring cells, nothing else
    resolution = coverage.BLIND_SPOT_RESOLUTION
    centre_cell = h3.latlng_to_cell(*CENTRE, resolution)
    neighbours = sorted(h3.grid_ring(centre_cell, 1))[:2]
    points = [h3.cell_to_latlng(c) for c in (centre_cell, *neighbours)]
    chats = await world.seed_groups([*points, points[0]], -100)  # two groups share the centre cell
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    alert = next(m for m in fake.messages(chats[0].chat_id) if m.photo_file_id)
    await world.taps(fake.user(7001, first_name="Guard"), alert, "Checked")

    within_300 = {
        cell for cell in h3.grid_disk(centre_cell, 6)
        if distance_m(CENTRE, h3.cell_to_latlng(cell)) <= 300
    }  # fmt: skip
    expected_blind = within_300 - {centre_cell, *neighbours}
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        report = await coverage.of_case(world.settings, session, case)
    assert [(r.number, r.radius_m, r.alerted, r.checked) for r in report.rings] == [(1, 300, 4, 1)]
    assert report.cells == len(within_300)
    assert {spot.cell for spot in report.blind} == expected_blind
    card = await world.says(officer, f"/case {case_id}")
    assert "1) 300 m: 4 groups alerted, 1 checked" in card.body
    assert (
        f"Blind spots: {len(expected_blind)} of {len(within_300)} cells within 300 m" in card.body
    )


async def test_a_restart_between_stages_fires_the_next_once_on_time(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(
        fake, database_url, SEARCHBOT_ESCALATION="0:300,1h:1000,2h:2500",
        SEARCHBOT_UNVERIFIED_STAGES=9,  # no gate
    )  # fmt: skip
    family = fake.user(5001, first_name="Mother", language_code="en")
    clock = MovableClock()  # the station's time goes on across the restart
    async with World(fake, settings, clock) as world:
        ring1 = await world.seed_groups([offset(CENTRE, 100)], -100)
        ring2 = await world.seed_groups([offset(CENTRE, 700)], -200)
        case_id = await world.report(family)
        await world.settle()
        await world.later(timedelta(minutes=30))
    assert alerted(fake, ring2) == []
    async with World(fake, settings, clock) as world:
        await world.later(timedelta(minutes=29))
        assert alerted(fake, ring2) == []  # not before its time (an hour after the report)
        await world.later(timedelta(minutes=1))
        assert alerted(fake, ring2)
        await world.later(timedelta(minutes=30))
        assert alert_count(fake, ring1[0]) == 1 and alert_count(fake, ring2[0]) == 1
        assert await stage_entries(world) == [0, 1]
        async with world.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None and case.stage == 1


@pytest.mark.slow
async def test_two_processes_on_one_database_fire_each_stage_once(
    fake: FakeBotApi, database_url: str
) -> None:
    """This bot (its JobQueue tick, and a tight loop of ticks besides) and a second OS process
    ticking on the same database race for every stage; each fires once."""
    schedule = {
        "SEARCHBOT_ESCALATION": "0:300,2s:600,3s:900,4s:1200",
        "SEARCHBOT_UNVERIFIED_STAGES": 9,  # no verification gate
        "SEARCHBOT_TICK_SECONDS": 0.05,
    }
    async with World(fake, world_settings(fake, database_url, **schedule)) as world:
        points = [offset(CENTRE, 100 + 100 * i) for i in range(11)]
        chats = await world.seed_groups(points, -100)
        other = await asyncio.create_subprocess_exec(  # started first: it takes a while to load
            sys.executable, "-m", "tests.second_process", "7",
            env={**os.environ, **world_environment(fake, database_url, **schedule)},
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert other.stdout is not None
        assert await asyncio.wait_for(other.stdout.readline(), timeout=180) == b"ready\n"
        done = asyncio.ensure_future(other.communicate())
        await world.report(fake.user(5001, first_name="Mother", language_code="en"))

        async def race() -> None:
            while not done.done():
                await escalation.tick(world.services)
                await asyncio.sleep(0.01)

        await asyncio.wait_for(race(), timeout=60)
        out, err = done.result()
        assert other.returncode == 0, err.decode()[-2000:]
        assert out.decode().startswith("fired ")
        await world.settle()
        assert await stage_entries(world) == [0, 1, 2, 3]
        async with world.services.sessions() as session:
            alerts = (await session.exec(select(Alert))).all()
        assert len(alerts) == len({a.group_id for a in alerts}) == 11
        assert all(alert_count(fake, chat) == 1 for chat in chats)


async def test_with_no_unverified_stage_nothing_goes_out_before_verification(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_UNVERIFIED_STAGES=0)
    async with World(fake, settings) as world:
        officer = await world.officer()
        near = await world.seed_groups([offset(CENTRE, 100)], -100)
        family = fake.user(5001, first_name="Mother", language_code="en")
        summary = await world.draft_report(family)
        opened = await world.taps(family, summary, "Confirm")
        assert opened is not None and "as soon as it is verified" in opened.body
        await world.settle()
        assert alerted(fake, near) == []
        card = next(m for m in fake.messages(officer.user_id) if "New case" in m.body)
        await world.taps(officer, card, "Verify")
        await world.later(0)  # the next tick sends the first ring
        assert alerted(fake, near)
        assert any("stage 1" in m.body for m in fake.messages(family.user_id))
