"""Forgetting on time: a closed case older than the retention period keeps its anonymous
figures and nothing personal; an open case, and a case closed recently, are untouched. The
``searchbot purge --dry-run`` command shows what would go and changes nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, update
from sqlmodel import col, select

from fakegram import FakeBotApi, FakeChat, FakeUser
from searchbot.models import Alert, AuditEntry, Case, Dialogue, OutboxMessage, Person, Sighting
from searchbot.operations import retention, statistics
from tests.world import ADMIN_ID, CENTRE, OFFICER_ID, World, offset

RETENTION = timedelta(days=30)  # the default SEARCHBOT_RETENTION_DAYS
CHILD = "Xiao Ming"
NOTE = "with a woman in a black coat"
CLOSE_NOTE = "reunited at the east gate"


async def rows_of(world: World, case_id: int | None) -> dict[str, list[dict[str, Any]]]:
    """Everything stored about one case (``None``: the messages about no case)."""
    async with world.services.sessions() as session:

        async def dump(model: type[Any], *where: Any) -> list[dict[str, Any]]:
            found = (await session.exec(select(model).where(*where).order_by(model.id))).all()
            return [row.model_dump() for row in found]

        outbox_case = (
            col(OutboxMessage.case_id).is_(None)
            if case_id is None
            else OutboxMessage.case_id == case_id
        )
        return {
            "cases": await dump(Case, Case.id == case_id),
            "sightings": await dump(Sighting, Sighting.case_id == case_id),
            "alerts": await dump(Alert, Alert.case_id == case_id),
            "outbox": await dump(OutboxMessage, outbox_case),
            "audit": await dump(AuditEntry, AuditEntry.case_id == case_id),
        }


async def figures(world: World) -> statistics.Figures:
    async with world.services.sessions() as session:
        return await statistics.compute(session, None)


async def age_case(world: World, case_id: int, by: timedelta) -> None:
    """Move a case's times back by ``by``, as if it had happened that long ago."""
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.closed_at is not None
        await session.exec(  # type: ignore[call-overload]
            update(Case)
            .where(col(Case.id) == case_id)
            .values(
                created_at=case.created_at - by,
                last_seen_at=case.last_seen_at - by,
                closed_at=case.closed_at - by,
            )
        )
        await session.commit()


async def reported_and_seen(
    world: World, fake: FakeBotApi, family: FakeUser, group: FakeChat, name: str
) -> int:
    """A case with a sighting (a reply with a note) and a "checked" in the group."""
    case_id = await world.report(family, name=name)
    alert = next(m for m in fake.messages(group) if m.photo_file_id and f"#{case_id}" in m.body)
    sighter = fake.user(7000 + case_id, first_name="Haoran", last_name="Wu", language_code="en")
    fake.send(sighter, chat=group, text=f"saw them {NOTE}", reply_to=alert)
    await world.settle()
    await world.taps(fake.user(7100 + case_id, first_name="Guard", language_code="en"), alert,
                     "Checked")  # fmt: skip
    return case_id


async def three_cases(world: World, fake: FakeBotApi) -> tuple[int, int, int]:
    """#old closed (then aged past the retention period), #open, #recent closed today."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    families = [
        fake.user(5000 + n, first_name="Meiling", last_name="Zhang", username=f"mz{n}",
                  language_code="en")
        for n in (1, 2, 3)
    ]  # fmt: skip
    old = await reported_and_seen(world, fake, families[0], group, CHILD)
    still_open = await reported_and_seen(world, fake, families[1], group, "Lili")
    recent = await reported_and_seen(world, fake, families[2], group, "Bao")
    await world.says(officer, f"/close {old} found {CLOSE_NOTE}")
    await world.says(officer, f"/close {recent} false_alarm")
    await world.settle()
    await age_case(world, old, RETENTION + timedelta(days=1))
    return old, still_open, recent


async def test_an_old_closed_case_keeps_its_figures_and_nothing_personal(
    world: World, fake: FakeBotApi
) -> None:
    old, still_open, recent = await three_cases(world, fake)
    (before_old,) = (await rows_of(world, old))["cases"]
    untouched = {case: await rows_of(world, case) for case in (still_open, recent)}
    counted = await figures(world)

    dry = await retention.purge(world.services, dry_run=True)
    assert dry.cases == [old] and dry.sightings == 1 and dry.messages > 0
    assert (await rows_of(world, old))["cases"] == [before_old]  # a dry run changes nothing

    done = await retention.purge(world.services)
    assert (done.cases, done.sightings, done.messages) == (dry.cases, 1, dry.messages)

    # the anonymous figures stay
    after = await figures(world)
    assert after.cases_by_outcome == counted.cases_by_outcome
    assert after.found_minutes == counted.found_minutes
    assert after.sightings_per_case == counted.sightings_per_case
    assert (after.groups_alerted, after.groups_answered) == (
        counted.groups_alerted,
        counted.groups_answered,
    )

    # nothing personal stays
    purged = await rows_of(world, old)
    (case,) = purged["cases"]
    assert case["purged_at"] is not None
    assert (case["status"], case["outcome"], case["stage"]) == ("closed", "found", 0)
    for field in ("name", "description", "contact", "place_text", "close_note", "closed_by"):
        assert case[field] is None, field
    assert case["photo_file_ids"] == [] and case["reporter_user_id"] == 0
    assert case["reporter_chat_id"] == 0
    for axis in ("lat", "lon", "center_lat", "center_lon"):
        assert case[axis] == round(before_old[axis], 2), axis  # about 1 km: not a doorstep
    (sighting,) = purged["sightings"]
    assert sighting["reporter_user_id"] == 0
    for field in ("reporter_name", "contact", "note", "photo_file_id", "lat", "lon", "place_text"):
        assert sighting[field] is None, field
    assert purged["outbox"] == []  # every caption and card about it is gone
    for entry in purged["audit"]:
        if entry["action"] in ("report", "sighting", "checked"):
            assert entry["actor_user_id"] is None, entry
        assert entry["detail"].get("note") in (None, ""), entry
    stored = repr(purged) + repr(await rows_of(world, None))
    for secret in (CHILD, "13800138000", "red T-shirt", "Haoran", NOTE, CLOSE_NOTE, "Zhang"):
        assert secret not in stored, secret

    # an open case and a recently closed one are untouched
    for case_id, rows in untouched.items():
        assert await rows_of(world, case_id) == rows, case_id

    # a second run has nothing left to do
    assert (await retention.purge(world.services)).cases == []
    assert fake.violations == []


async def test_a_purged_case_keeps_no_user_id_of_who_checked(
    world: World, fake: FakeBotApi
) -> None:
    old, _, _ = await three_cases(world, fake)
    await retention.purge(world.services)
    alerts = (await rows_of(world, old))["alerts"]
    assert alerts and alerts[0]["checked_at"] is not None  # the figure stays...
    assert [a["checked_by"] for a in alerts] == [None] * len(alerts)  # ...not the person


async def test_the_retention_period_is_counted_from_closing(world: World, fake: FakeBotApi) -> None:
    """With an injected clock: 29 days after closing nothing goes, 31 days after it does."""
    officer = await world.officer()
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/close {case_id} withdrawn")
    await world.settle()
    real_clock = world.services.clock
    closed = datetime.now(UTC)
    try:
        world.services.clock = lambda: closed + RETENTION - timedelta(days=1)
        assert (await retention.purge(world.services)).cases == []
        world.services.clock = lambda: closed + RETENTION + timedelta(days=1)
        assert (await retention.purge(world.services)).cases == [case_id]
    finally:
        world.services.clock = real_clock
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.name is None and case.purged_at is not None


async def run_cli(database_url: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEARCHBOT_", "TELEGRAM_"))}
    env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "searchbot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_purge_dry_run_command_shows_what_would_go_and_changes_nothing(
    world: World, fake: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    old, still_open, recent = await three_cases(world, fake)
    before = {case: await rows_of(world, case) for case in (old, still_open, recent)}
    async with world.services.sessions() as session:
        people = [p.model_dump() for p in (await session.exec(select(Person))).all()]

    code, out, err = await run_cli(database_url, tmp_path, "purge", "--dry-run")
    assert code == 0, err
    assert f"would purge 1 cases closed over 30 days ago (#{old}): 1 sightings" in out
    assert {case: await rows_of(world, case) for case in before} == before
    async with world.services.sessions() as session:
        assert [p.model_dump() for p in (await session.exec(select(Person))).all()] == people

    code, out, err = await run_cli(database_url, tmp_path, "purge")
    assert code == 0, err
    assert f"purged 1 cases closed over 30 days ago (#{old})" in out
    (case,) = (await rows_of(world, old))["cases"]
    assert case["name"] is None and case["purged_at"] is not None
    for case_id in (still_open, recent):
        assert await rows_of(world, case_id) == before[case_id]


async def test_abandoned_drafts_and_long_quiet_people_are_forgotten(
    world: World, fake: FakeBotApi
) -> None:
    """A half-typed report goes after a day; a person goes after the retention period of quiet,
    unless they are an officer, blocked, or wait on an open case."""
    officer = await world.officer()
    searching = fake.user(5001, first_name="Meiling", username="searching", language_code="en")
    found = fake.user(5002, first_name="Jun", username="found", language_code="en")
    typing = fake.user(5003, first_name="Wei", username="typing", language_code="en")
    stranger = fake.user(5004, first_name="Curious", username="curious", language_code="en")
    await world.report(searching)
    closed = await world.report(found)
    await world.says(officer, f"/close {closed} found")
    await world.says(typing, "/report")
    await world.says(typing, "/skip")
    await world.says(stranger, "/start")
    await world.says(officer, "/block 5005")  # never wrote: the block alone is stored
    await world.settle()

    async def stored() -> tuple[set[int], set[int]]:
        async with world.services.sessions() as session:
            people = set((await session.exec(select(Person.user_id))).all())
            drafts = set((await session.exec(select(Dialogue.user_id))).all())
            return people, drafts

    everyone, drafts = await stored()
    assert {5001, 5002, 5003, 5004, 5005, OFFICER_ID, ADMIN_ID} <= everyone
    assert drafts == {5003}
    real_clock = world.services.clock
    now = datetime.now(UTC)
    try:
        world.services.clock = lambda: now + timedelta(hours=12)
        assert await retention.purge(world.services) == retention.Purge([], 0, 0, 0, 0)

        world.services.clock = lambda: now + RETENTION + timedelta(days=1)
        dry = await retention.purge(world.services, dry_run=True)
        assert (dry.drafts, dry.people) == (1, 3)
        assert await stored() == (everyone, drafts)  # a dry run changes nothing

        done = await retention.purge(world.services)
        assert (done.drafts, done.people) == (1, 3)
        people, drafts = await stored()
        assert people == everyone - {5002, 5003, 5004} and drafts == set()
        async with world.services.sessions() as session:
            stored_text = repr([p.model_dump() for p in (await session.exec(select(Person))).all()])
        for name in ("Jun", "found", "Wei", "typing", "Curious"):
            assert f"'{name}'" not in stored_text, name

        # coming back is like coming for the first time
        answer = await world.says(typing, "/start")
        assert "searchbot" in answer.body
        assert 5003 in (await stored())[0]
    finally:
        world.services.clock = real_clock
    assert fake.violations == []


async def test_a_purge_of_tens_of_thousands_stays_within_the_statement_limits(
    world: World, fake: FakeBotApi
) -> None:
    """The first purge after months may forget more than the 32,767 parameters PostgreSQL takes
    in one statement: it must still forget everyone and every case."""
    officer = await world.officer()
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    await world.says(officer, f"/close {case_id} found")
    await world.settle()
    await age_case(world, case_id, RETENTION + timedelta(days=1))
    long_ago = datetime.now(UTC) - RETENTION - timedelta(days=2)
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        clone = case.model_dump(exclude={"id"})
        connection = await session.connection()  # a bulk insert, below the ORM
        await connection.execute(insert(Case), [clone] * 1200)
        people = [
            {"user_id": 10_000_000 + n, "first_name": f"P{n}", "language": "en",
             "reachable": True, "blocked": False, "updated_at": long_ago}
            for n in range(40_000)
        ]  # fmt: skip
        await connection.execute(insert(Person), people)
        await session.commit()

    done = await retention.purge(world.services)
    assert len(done.cases) == 1201 and done.people >= 40_000
    async with world.services.sessions() as session:
        left = await session.exec(select(func.count()).where(col(Person.user_id) >= 10_000_000))
        assert left.one() == 0  # type: ignore[call-overload]
        kept = await session.exec(select(func.count()).where(col(Case.purged_at).is_(None)))
        assert kept.one() == 0  # type: ignore[call-overload]


async def test_a_family_that_closed_its_own_case_is_not_in_the_audit_after_the_purge(
    world: World, fake: FakeBotApi
) -> None:
    """The audit log keeps what happened and when, and which officer did it; the family that
    reported and then closed its own case, and the sighter, leave no id, name nor phone."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(5001, first_name="Meiling", last_name="Zhang", language_code="en")
    case_id = await reported_and_seen(world, fake, family, group, CHILD)
    await world.says(officer, f"/verify {case_id}")
    listing = await world.says(family, "/mycases")
    await world.taps(family, listing, "Found")
    await world.settle()
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.status == "closed" and case.closed_by == 5001
    before = {(e["action"], e["actor_user_id"]) for e in (await rows_of(world, case_id))["audit"]}
    assert ("close", 5001) in before and ("verify", OFFICER_ID) in before
    await age_case(world, case_id, RETENTION + timedelta(days=1))

    await retention.purge(world.services)
    audit = (await rows_of(world, case_id))["audit"]
    after = {(e["action"], e["actor_user_id"]) for e in audit}
    assert after == {(action, None if actor != OFFICER_ID else actor) for action, actor in before}
    assert {"report", "sighting", "checked", "verify", "close"} <= {a for a, _ in after}
    assert all(e["at"] is not None for e in audit)  # the times stay
    # The times themselves are left out: "5001" once turned up in a timestamp's microseconds.
    text = repr([{k: v for k, v in e.items() if k != "at"} for e in audit])
    for secret in ("5001", str(7000 + case_id), str(7100 + case_id), CHILD, "13800138000",
                   "Meiling", "Haoran", NOTE):  # fmt: skip
        assert secret not in text, secret


async def report_with_phone(world: World, family: FakeUser, name: str, phone: str) -> int:
    summary = await world.draft_report(family, name=name)
    which = await world.taps(family, summary, "Edit")
    assert which is not None
    await world.taps(family, which, "Contact")
    summary = await world.says(family, phone)
    done = await world.taps(family, summary, "Confirm")
    assert done is not None and "is open" in done.body, done
    return int(done.body.split("#")[1].split()[0])


async def test_purged_names_and_phones_are_not_left_in_the_sqlite_files(
    world: World, fake: FakeBotApi, database_url: str
) -> None:
    """secure_delete zeroes what was deleted or overwritten, and the write-ahead log is
    folded back and emptied after the purge: the bytes on disk hold nothing purged."""
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL's files are the server's business (VACUUM), not this process's
    path = Path(database_url.split("///", 1)[1])
    wal = path.with_name(path.name + "-wal")
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(5001, first_name="Meiling", last_name="Zhang", language_code="en")
    child, phone = "Qiaoqiao Lianhua", "13912345678"
    old = await report_with_phone(world, family, child, phone)
    alert = next(m for m in fake.messages(group) if m.photo_file_id and f"#{old}" in m.body)
    sighter = fake.user(7001, first_name="Haoran", last_name="Wu", language_code="en")
    fake.send(sighter, chat=group, text=f"saw them {NOTE}", reply_to=alert)
    await world.settle()
    await world.says(officer, f"/close {old} found {CLOSE_NOTE}")
    await world.report(fake.user(5002, first_name="Jun", language_code="en"), name="Lili")
    await world.settle()
    await age_case(world, old, RETENTION + timedelta(days=1))

    def on_disk() -> bytes:
        return b"".join(f.read_bytes() for f in (path, wal) if f.exists())

    secrets = [child, phone, NOTE, CLOSE_NOTE]
    assert all(secret.encode() in on_disk() for secret in secrets)
    assert (await retention.purge(world.services)).cases == [old]
    stored = on_disk()
    for secret in secrets:
        assert secret.encode() not in stored, secret
    assert not wal.exists() or wal.stat().st_size == 0
    assert b"Lili" in stored  # the open case is still there: the check can see names
