"""The outbox and its dispatcher against Telegram's failure modes: 429s, kicked and migrated
groups, flaky servers, duplicate stages, closing in the middle of a fan-out."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fakegram import FakeBotApi
from searchbot.cases import escalation
from searchbot.delivery.line import Job, job_of
from searchbot.delivery.outcomes import Throttled
from searchbot.delivery.settling import Settler
from searchbot.delivery.throttle import Throttle
from searchbot.models import Alert, Case, CaseStatus, Group, OutboxMessage, OutboxStatus
from searchbot.models.db import Sessions
from searchbot.models.outbox import ALERTS, Kind
from searchbot.models.queries import cancel_pending
from searchbot.operations.health import Metrics
from searchbot.words.texts import say
from tests.test_notify import NOW, seed, services_for
from tests.world import CENTRE, World, offset, world_settings


def alert_calls(fake: FakeBotApi, ok: bool | None = True) -> list:
    return [
        c
        for c in fake.calls
        if c.method == "sendPhoto" and int(c.params["chat_id"]) < 0 and (ok is None or c.ok == ok)
    ]


def ring(count: int, metres: float = 150) -> list[tuple[float, float]]:
    """``count`` points about ``metres`` from the centre, at increasing distances."""
    return [offset(CENTRE, metres + 3 * i, (i % 5) * 10) for i in range(count)]


async def rows(world: World, model: type, *where: object) -> list:
    async with world.services.sessions() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def test_a_429_pauses_only_the_chat_that_got_it(world: World, fake: FakeBotApi) -> None:
    await world.officer()
    chats = await world.seed_groups(ring(6))
    throttled = chats[0].chat_id
    fake.fail_next(throttled, status=429, count=1)  # retry_after: 1 s
    family = fake.user(5001, first_name="Mother", language_code="en")
    await world.report(family)
    await world.settle()

    ok = alert_calls(fake)
    assert sorted(int(c.params["chat_id"]) for c in ok) == sorted(c.chat_id for c in chats)
    refused = next(c for c in alert_calls(fake, ok=False) if c.error_code == 429)
    retried = next(c for c in ok if int(c.params["chat_id"]) == throttled)
    others = [c for c in ok if int(c.params["chat_id"]) != throttled]
    assert retried.at - refused.at >= 1.0  # the chat waited out its retry_after
    assert all(c.at < refused.at + 1.0 for c in others)  # the others did not wait
    assert fake.violations == []


async def test_a_group_that_removed_the_bot_is_deactivated_and_reported_once(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    chats = await world.seed_groups(ring(3))
    kicked = chats[1]
    fake.remove_bot(kicked, by=fake.user(1, first_name="Owner"))  # Telegram tells the bot
    await world.settle()
    (group,) = await rows(world, Group, Group.chat_id == kicked.chat_id)
    assert group.status == "inactive"

    family = fake.user(5001, first_name="Mother", language_code="en")
    await world.report(family)
    await world.settle()
    sends = [
        c
        for c in fake.calls
        if c.method == "sendPhoto" and int(c.params["chat_id"]) == kicked.chat_id
    ]
    assert sends == []  # never even tried
    notices = [m for m in fake.messages(officer.user_id) if "can no longer be reached" in m.body]
    assert len(notices) == 1


async def test_a_403_deactivates_the_group_and_officers_hear_once(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    chats = await world.seed_groups(ring(3))
    gone = chats[1]
    fake.fail_next(gone, status=403, count=5)  # removed while the bot was not listening
    for user_id in (5001, 5002):
        await world.report(fake.user(user_id, first_name="Parent", language_code="en"))
        await world.settle()
    (group,) = await rows(world, Group, Group.chat_id == gone.chat_id)
    assert group.status == "inactive"
    tries = [
        c
        for c in fake.calls
        if c.method == "sendPhoto" and int(c.params["chat_id"]) == gone.chat_id
    ]
    assert len(tries) == 1 and not tries[0].ok  # the second case no longer tries
    others = [c for c in chats if c is not gone]
    assert all(len([m for m in fake.messages(c.chat_id) if m.photo_file_id]) == 2 for c in others)
    notices = [m for m in fake.messages(officer.user_id) if "can no longer be reached" in m.body]
    assert len(notices) == 1


async def test_a_group_upgraded_to_supergroup_gets_the_alert_there(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    (chat,) = await world.seed_groups(ring(1))
    new_id = -1009999
    fake.migrate(chat, new_id)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    assert [m.photo_file_id is not None for m in fake.messages(new_id)] == [True]
    (group,) = await rows(world, Group)
    assert group.chat_id == new_id

    await world.says(officer, f"/close {case_id} found")
    await world.settle()
    assert not any(m.photo_file_id for m in fake.messages(new_id))
    assert any("search is over" in m.body for m in fake.messages(new_id))


async def test_server_errors_back_off_then_the_row_dies_and_officers_hear(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(
        fake,
        database_url,
        # waits 0.6 s, 1.2 s: growth that stands out of the dispatcher's half-second idle
        # rounds and a loaded machine's jitter
        SEARCHBOT_RETRY_SECONDS=0.6,
        SEARCHBOT_MAX_ATTEMPTS=3,
    )
    async with World(fake, settings) as world:
        officer = await world.officer()
        flaky, broken = await world.seed_groups(ring(2))
        fake.fail_next(flaky, status=502, count=2)
        fake.fail_next(broken, status=500, count=10)
        family = fake.user(5001, first_name="Mother", language_code="en")
        await world.report(family)
        await world.settle()

        assert len([c for c in alert_calls(fake) if int(c.params["chat_id"]) == flaky.chat_id]) == 1
        tries = [
            c
            for c in fake.calls
            if c.method == "sendPhoto" and int(c.params["chat_id"]) == broken.chat_id
        ]
        assert len(tries) == 3 and not any(c.ok for c in tries)
        # (no check of the waits' growth by the calls' times: when every send fails, Telegram
        # looks down and the outage breaker's probes set the pace instead; tests/test_poller.py
        # tests the breaker)
        (dead,) = await rows(world, OutboxMessage, OutboxMessage.status == "dead")
        assert dead.chat_id == broken.chat_id and dead.attempts == 3
        assert any("could not be delivered" in m.body for m in fake.messages(officer.user_id))


async def test_a_stage_fired_twice_alerts_each_group_once(world: World, fake: FakeBotApi) -> None:
    await world.seed_groups(ring(4))
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert await escalation.fire_stage(world.services, session, case, 0) == 0
        await session.commit()

    async def widen() -> int | None:
        async with world.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            fired = await escalation.escalate_now(world.services, session, case)
            await session.commit()
            return fired

    results = await asyncio.gather(widen(), widen())
    assert sorted(r is None for r in results) == [False, True]  # one tap widened, one did not
    await world.settle()
    assert len(await rows(world, Alert)) == 4
    assert len(alert_calls(fake)) == 4


async def test_a_sighting_overtakes_a_fanout_in_progress(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_GLOBAL_PER_SECOND=8)
    async with World(fake, settings) as world:
        officer = await world.officer()
        chats = await world.seed_groups(ring(30))
        family = fake.user(5001, first_name="Mother", language_code="en")
        summary = await world.draft_report(family)
        fake.click(family, summary, "Confirm")
        first = await fake.wait_for(
            lambda: next((m for c in chats for m in fake.messages(c.chat_id)), None)
        )
        keeper = fake.user(7001, first_name="Keeper", language_code="en")
        fake.send(
            keeper, chat=fake.chat(first.chat_id), text="saw him by the fountain", reply_to=first
        )

        # the case is not verified: the family hears that a sighting came in, officers all of it
        held = say("en", "sighting_held_family", ref="#1")

        def sighting_sent_to(chat_id: int, words: str = "Sighting for") -> float | None:
            return next(
                (c.at for c in fake.calls if c.method == "sendMessage" and c.ok
                 and int(c.params["chat_id"]) == chat_id and words in str(c.params.get("text"))),
                None,
            )  # fmt: skip

        await fake.wait_for(
            lambda: sighting_sent_to(family.user_id, held) and sighting_sent_to(officer.user_id),
            timeout=10,
        )
        await world.settle(timeout=30)
        last_alert = max(c.at for c in alert_calls(fake))
        assert len(alert_calls(fake)) == 30
        assert sighting_sent_to(family.user_id, held) < last_alert  # type: ignore[operator]
        assert sighting_sent_to(officer.user_id) < last_alert  # type: ignore[operator]


async def test_closing_mid_fanout_leaves_no_photo_behind(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_GLOBAL_PER_SECOND=8)
    async with World(fake, settings) as world:
        officer = await world.officer()
        chats = await world.seed_groups(ring(30))
        family = fake.user(5001, first_name="Mother", language_code="en")
        summary = await world.draft_report(family)
        fake.click(family, summary, "Confirm")
        await fake.wait_for(lambda: len(alert_calls(fake)) >= 3)
        fake.send(officer, text="/close 1 found")
        await world.settle(timeout=30)
        sent = len(alert_calls(fake))
        assert 3 <= sent < 30  # the queued rest never went out
        for chat in chats:
            assert not any(m.photo_file_id for m in fake.messages(chat.chat_id))
        cancelled = await rows(world, OutboxMessage, OutboxMessage.status == "cancelled")
        assert len(cancelled) == 30 - sent
        assert fake.violations == []


GROUP = -4242  # the chat of the alert the write-back tests settle


async def alert_row(sessions: Sessions, status: OutboxStatus, closed: bool = False) -> Job:
    """A seeded case's alert to ``GROUP`` in ``status``, its case ``closed`` or open."""
    seeded = await seed(sessions)
    async with sessions() as session:
        row = OutboxMessage(
            case_id=seeded.case_id, chat_id=GROUP, kind=Kind.ALERT, lane=ALERTS, payload={},
            status=status, next_attempt_at=NOW, created_at=NOW,
        )  # fmt: skip
        session.add(row)
        if closed:
            await close_case(session, seeded.case_id)
        await session.commit()
    return job_of(row)


async def close_case(session: AsyncSession, case_id: int) -> None:
    case = await session.get(Case, case_id)
    assert case is not None
    case.status, case.closed_at = CaseStatus.CLOSED, NOW
    session.add(case)
    await session.flush()


def settler_for(sessions: Sessions) -> Settler:
    return Settler(services_for(sessions), Throttle(30, 20, 1), Metrics(), lambda: None)


async def to_group(sessions: Sessions) -> list[tuple[str, OutboxStatus, int | None]]:
    """The kind, status and message id of every row to ``GROUP``, in order; a retraction's
    message id is the one it takes back."""
    async with sessions() as session:
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP))
        ).all()
    return [
        (row.kind, row.status, row.payload.get("message_id") if row.kind == Kind.RETRACT else row.message_id)
        for row in sorted(rows, key=lambda row: row.id or 0)
    ]  # fmt: skip


@pytest.mark.parametrize("closed", [False, True])
async def test_an_alert_sent_as_its_case_closed_is_written_back_and_taken_back(
    sessions: Sessions, closed: bool
) -> None:
    """A send's write-back is one statement, conditional on its case being open: an alert
    that reached its group after the case closed is settled with its message id and a
    retraction of that message follows in the same transaction; one of an open case is only
    settled."""
    job = await alert_row(sessions, OutboxStatus.SENDING, closed=closed)
    await settler_for(sessions).sent(job, 88)
    rows = await to_group(sessions)
    assert rows[0] == (Kind.ALERT, OutboxStatus.SENT, 88)
    assert [message for kind, _, message in rows if kind == Kind.RETRACT] == (
        [88] if closed else []
    )


async def test_an_alert_written_back_while_its_case_closes_is_taken_back(
    sessions: Sessions,
) -> None:
    """A close under way (its transaction not yet committed) when a send of the case comes
    back: the close cancels the row in flight and so does not see it as sent; the write-back
    must wait for the close and see the case closed, and take the photo back. Checking the
    case's status alone, PostgreSQL's write-back saw the case still open, and a photo stayed in
    its group (the PostgreSQL suite, once, in test_closing_mid_fanout_leaves_no_photo_behind)."""
    job = await alert_row(sessions, OutboxStatus.SENDING)
    assert job.case_id is not None
    async with sessions() as closing:  # as closing.close does it: the case, then its rows
        await close_case(closing, job.case_id)
        await cancel_pending(closing, job.case_id, (Kind.ALERT,))
        writing_back = asyncio.create_task(settler_for(sessions).sent(job, 88))
        await asyncio.sleep(0.5)  # the write-back waits for the close
        await closing.commit()
    await asyncio.wait_for(writing_back, 30)
    assert [message for kind, _, message in await to_group(sessions) if kind == Kind.RETRACT] == [
        88
    ]


async def test_an_alert_refused_with_a_429_after_its_case_closed_stays_cancelled(
    sessions: Sessions,
) -> None:
    """The call was in the air when the case closed (the close cancelled its row) and Telegram
    answered 429: the row is not put back in the line, so the photo never goes out late."""
    job = await alert_row(sessions, OutboxStatus.CANCELLED, closed=True)
    await settler_for(sessions).failed(job, Throttled(3.0))
    assert await to_group(sessions) == [(Kind.ALERT, OutboxStatus.CANCELLED, None)]


async def test_an_alert_whose_row_another_leader_put_back_is_settled_not_taken_back(
    sessions: Sessions,
) -> None:
    """A leader's send came back after another leader's recovery put its row back in the line
    (``pending``): the case is open, so the alert is settled and stays in its group."""
    job = await alert_row(sessions, OutboxStatus.PENDING)
    await settler_for(sessions).sent(job, 88)
    assert await to_group(sessions) == [(Kind.ALERT, OutboxStatus.SENT, 88)]
