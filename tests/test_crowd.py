"""A crowd presses "Checked — not here" at once (issue 15): every press answered once, every
member counted once, the alerts' counters edited at most once a second, and the rest of the bot
(a new report's Confirm) still answered during the burst. Behaviour only; the timings are
benchmarks/crowd.py's business."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select
from telegram import Update
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from fakegram import FakeBotApi, FakeChat, FakeMessage, FakeUser
from searchbot.cases.checks import AGAIN, NEW, STALE, Checks, Press
from searchbot.models import Alert, AlertCheck, AuditEntry
from searchbot.operations import retention
from searchbot.telegram.bot_http import AiohttpRequest
from searchbot.telegram.update_order import ChatOrderedUpdates
from searchbot.words.buttons import is_crowd_press
from searchbot.words.texts import say
from tests.world import CENTRE, World, offset

GROUPS, MEMBERS = 6, 4
THANKS, ALREADY = say("en", "checked_thanks"), say("en", "checked_already")


async def alerted_crowd(
    world: World, fake: FakeBotApi
) -> tuple[int, list[FakeChat], dict[int, list[FakeUser]], dict[int, FakeMessage]]:
    """GROUPS groups around the last-seen place with MEMBERS members each, alerted for a case."""
    await world.officer()
    points = [offset(CENTRE, 40 * (i + 1), 25 * i) for i in range(GROUPS)]
    chats = await world.seed_groups(points, -300)
    members: dict[int, list[FakeUser]] = {}
    for index, chat in enumerate(chats):
        crew = [
            fake.user(60_000 + index * 10 + k, first_name=f"Member {k}") for k in range(MEMBERS)
        ]
        chat.members.extend(u.user_id for u in crew)
        members[chat.chat_id] = crew
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    await world.settle()
    alerts = {c.chat_id: next(m for m in fake.messages(c) if m.photo_file_id) for c in chats}
    return case_id, chats, members, alerts


async def second_family_at_confirm(world: World, fake: FakeBotApi) -> tuple[FakeUser, FakeMessage]:
    """Another family, its report drafted 5 km away up to the summary with the Confirm button."""
    family = fake.user(5002, first_name="Father", language_code="en")
    summary = await world.draft_report(family, offset(CENTRE, 5000, 0))
    await world.settle()
    return family, summary


def everyone_presses(
    fake: FakeBotApi,
    chats: list[FakeChat],
    members: dict[int, list[FakeUser]],
    alerts: dict[int, FakeMessage],
) -> dict[str, tuple[int, int]]:
    """Every member presses "Checked" on their group's alert: each press's query id, with the
    group and the member it came from."""
    return {
        fake.click(user, alerts[chat.chat_id], "Checked"): (chat.chat_id, user.user_id)
        for chat in chats
        for user in members[chat.chat_id]
    }


def answers_to(fake: FakeBotApi, query_id: str) -> list[str]:
    """The toasts of every answerCallbackQuery call for one press (refused ones included)."""
    return [
        str(call.params.get("text", "")) if call.ok else f"refused: {call.description}"
        for call in fake.calls_to("answerCallbackQuery")
        if call.params.get("callback_query_id") == query_id
    ]


def edits_of(fake: FakeBotApi, message: FakeMessage) -> list[float]:
    """When the fake received each successful edit of ``message``."""
    return [
        call.at
        for call in fake.calls
        if call.method.startswith("editMessage")
        and call.ok
        and call.params.get("chat_id") == message.chat_id
        and call.params.get("message_id") == message.message_id
    ]


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


async def test_a_burst_is_answered_once_per_press_and_counted_once_per_member(
    world: World, fake: FakeBotApi
) -> None:
    case_id, chats, members, alerts = await alerted_crowd(world, fake)
    second_family, summary = await second_family_at_confirm(world, fake)

    # everyone presses at once; one member presses twice; a new report is confirmed meanwhile
    confirm = fake.click(second_family, summary, "Confirm")
    presses = everyone_presses(fake, chats, members, alerts)
    eager = members[chats[0].chat_id][0]
    again = fake.click(eager, alerts[chats[0].chat_id], "Checked")
    await fake.wait_for(lambda: all(q in fake.callback_answers for q in [*presses, again]))
    await world.settle()

    # every press answered exactly once, each person's first press thanked, the repeat not
    assert {q: answers_to(fake, q) for q in presses} == {q: [THANKS] for q in presses}
    assert answers_to(fake, again) == [ALREADY]
    # the report confirmed during the burst was answered and opened
    assert len(answers_to(fake, confirm)) == 1
    assert any("is open" in m.body for m in fake.messages(second_family))

    async with world.services.sessions() as session:
        checks = (await session.exec(select(AlertCheck))).all()
        alerts_marked = (
            await session.exec(
                select(func.count()).where(  # type: ignore[call-overload]
                    Alert.case_id == case_id, col(Alert.checked_at).is_not(None)
                )
            )
        ).one()
        audited = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "checked"))
        ).all()
    # counted exactly: one row per member, none twice, the repeat only adds to its presses
    assert sorted((c.chat_id, c.user_id) for c in checks) == sorted(presses.values())
    assert {c.user_id: c.presses for c in checks if c.presses != 1} == {eager.user_id: 2}
    assert {c.case_id for c in checks} == {case_id}
    assert alerts_marked == GROUPS  # every group counts as checked
    assert sorted((a.detail["chat_id"], a.actor_user_id) for a in audited) == sorted(
        presses.values()
    )

    # each alert shows its group's count, after at most one edit a second
    for chat in chats:
        alert = alerts[chat.chat_id]
        now_shown = fake.get_message(alert.chat_id, alert.message_id)
        assert now_shown is not None
        assert f"Checked — not here ({MEMBERS})" in " ".join(now_shown.button_texts)
        assert any("I saw them" in t for t in now_shown.button_texts)  # the rest stays
        times = edits_of(fake, alert)
        assert len(times) >= 1 and all(gap >= 1.0 for gap in gaps(times)), times
    assert fake.violations == []


async def test_presses_over_seconds_edit_the_counter_at_most_once_a_second(
    world: World, fake: FakeBotApi
) -> None:
    _, chats, members, alerts = await alerted_crowd(world, fake)
    alert = alerts[chats[0].chat_id]
    crowd = [fake.user(61_000 + k, first_name=f"Passer {k}") for k in range(12)]
    chats[0].members.extend(u.user_id for u in crowd)
    for index, user in enumerate(crowd):  # three bursts of four, 1.6 s apart
        fake.click(user, alert, "Checked")
        if index % 4 == 3:
            await asyncio.sleep(1.6)
    await world.settle()
    times = edits_of(fake, alert)
    assert len(times) >= 2, times  # the counter moved while people kept pressing...
    assert all(gap >= 1.0 for gap in gaps(times)), gaps(times)  # ...at most once a second
    shown = fake.get_message(alert.chat_id, alert.message_id)
    assert shown is not None and "Checked — not here (12)" in " ".join(shown.button_texts)
    assert fake.violations == []


async def test_presses_counted_exactly_when_stored_concurrently(world: World) -> None:
    """Two recorders (as two processes would) store overlapping presses at the same time: the
    database counts each member once, whoever stores it."""
    fake = world.fake
    case_id, chats, members, _ = await alerted_crowd(world, fake)
    everyone = [
        Press(case_id, chat.chat_id, user.user_id)
        for chat in chats
        for user in members[chat.chat_id]
    ]
    first, second = (Checks(world.services.sessions, world.services.clock) for _ in range(2))
    outcomes = await asyncio.gather(
        *[first.press(p) for p in everyone],
        *[second.press(p) for p in reversed(everyone)],
        second.press(Press(case_id + 1000, chats[0].chat_id, 1)),  # no such case
        first.press(Press(case_id, -999_999, 1)),  # a chat never alerted
    )
    await first.stop()
    await second.stop()
    assert Counter(outcomes) == {NEW: len(everyone), AGAIN: len(everyone), STALE: 2}
    async with world.services.sessions() as session:
        rows = (await session.exec(select(AlertCheck))).all()
    assert len(rows) == len(everyone)
    assert {r.presses for r in rows} == {2}


async def test_closing_and_purging_keep_the_figure_not_the_people(
    world: World, fake: FakeBotApi
) -> None:
    case_id, chats, members, alerts = await alerted_crowd(world, fake)
    for chat in chats[:2]:
        fake.click(members[chat.chat_id][0], alerts[chat.chat_id], "Checked")
    await world.settle()
    officer = fake.user(9001)
    await world.says(officer, f"/close {case_id} found")
    await world.settle()
    real_clock = world.services.clock
    try:
        world.services.clock = lambda: real_clock() + timedelta(days=400)
        assert case_id in (await retention.purge(world.services)).cases
    finally:
        world.services.clock = real_clock
    async with world.services.sessions() as session:
        checks = (await session.exec(select(AlertCheck))).all()
        alerts_left = (await session.exec(select(Alert).where(Alert.case_id == case_id))).all()
    assert checks == []  # who pressed is gone...
    assert sum(a.checked_at is not None for a in alerts_left) == 2  # ...the figure stays
    assert fake.violations == []


def press_update(chat_id: int, chat_type: str, user_id: int, data: str) -> Update:
    raw = {
        "update_id": 1,
        "callback_query": {
            "id": "1",
            "from": {"id": user_id, "is_bot": False, "first_name": "A"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 7,
                "date": 0,
                "chat": {"id": chat_id, "type": chat_type},
            },
        },
    }
    return Update.de_json(raw, None)


def test_only_a_crowds_presses_in_a_group_skip_the_chats_queue() -> None:
    order = ChatOrderedUpdates(8, independent=is_crowd_press)
    keys: defaultdict[str, set[object]] = defaultdict(set)
    for user in (1, 2, 3):
        keys["checked in a group"].add(order.order_key(press_update(-5, "group", user, "ck:1")))
        keys["verify in a group"].add(order.order_key(press_update(-5, "group", user, "vf:1")))
    keys["same member twice"] = {
        order.order_key(press_update(-5, "supergroup", 1, "ck:1")),
        order.order_key(press_update(-5, "supergroup", 1, "ck:1")),
    }
    keys["checked in private"].add(order.order_key(press_update(4, "private", 4, "ck:1")))
    assert keys == {
        "checked in a group": {(-5, 1), (-5, 2), (-5, 3)},  # members do not wait for each other
        "verify in a group": {-5},  # officers' buttons still go one at a time per chat
        "same member twice": {(-5, 1)},  # one person's presses stay in order
        "checked in private": {4},
    }


async def test_a_crowd_takes_its_slots_in_turn_and_a_cancelled_press_frees_its_own() -> None:
    order = ChatOrderedUpdates(8, independent=is_crowd_press)  # a crowd takes at most 4 slots
    running, most, started = 0, 0, []
    release = asyncio.Event()

    async def handled(user: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        started.append(user)
        try:
            await release.wait()
        finally:
            running -= 1

    handlers = {user: handled(user) for user in range(1, 11)}
    tasks = {
        user: asyncio.create_task(
            order.do_process_update(press_update(-5, "group", user, "ck:1"), handler)
        )
        for user, handler in handlers.items()
    }
    await asyncio.sleep(0.01)
    assert started == [1, 2, 3, 4]  # first come, first served; the rest wait their turn
    tasks[6].cancel()  # a waiting press goes away (its update handler was cancelled)
    tasks[2].cancel()  # and a running one
    await asyncio.sleep(0.01)
    assert started == [1, 2, 3, 4, 5]  # the running one's slot went to the next in line
    release.set()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    handlers[6].close()  # cancelled before its turn: never started
    assert sorted(started) == [1, 2, 3, 4, 5, 7, 8, 9, 10] and most == 4
    assert order.in_flight == 0


async def test_an_answer_leaves_without_the_handler_waiting_and_shutdown_lets_it_arrive(
    fake: FakeBotApi,
) -> None:
    fake.limits.latency = 0.2
    request = AiohttpRequest()
    await request.initialize()
    url = f"{fake.base_url}{fake.token}/answerCallbackQuery"
    posted = RequestData([RequestParameter("callback_query_id", "no-such-query", [])])
    status, body = await request.do_request(url, "POST", posted)
    # answered as Telegram answers a good one, before the fake has even seen the call
    assert (status, json.loads(body)) == (200, {"ok": True, "result": True})
    assert not [c for c in fake.calls if c.method == "answerCallbackQuery"]
    assert request.blind_calls == 1
    await request.shutdown()  # waits for the answers on their way
    answers = [c for c in fake.calls if c.method == "answerCallbackQuery"]
    assert [(c.ok, c.params["callback_query_id"]) for c in answers] == [(False, "no-such-query")]
    assert request.blind_calls == 0
