"""Wrong input, each with a clear answer in the user's language and nothing lost: media where a
photo is expected, over-long answers, impossible ages, places outside the service area,
forwarded and edited messages, unknown commands and commands in the wrong kind of chat, a bot
added by the wrong person, removed mid-case, blocked by the family mid-case."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select
from telegram.ext import ContextTypes

from fakegram import FakeBotApi, FakeUser
from searchbot.models import Case, Dialogue, Group, OutboxMessage, Person
from searchbot.words.texts import say
from tests.test_permissions import changes, send, snapshot
from tests.world import ADMIN_ID, CENTRE, World, offset, world_settings

FAR_AWAY = offset(CENTRE, 50_000)  # 50 km north: outside a 20 km service area
AREA = f"{CENTRE[0]},{CENTRE[1]},20000"
NOT_PHOTOS: list[dict[str, Any]] = [{"document": True}, {"sticker": True}, {"voice": True}]


def en(key: str, **values: Any) -> str:
    return say("en", key, **values)


def zh(key: str, **values: Any) -> str:
    return say("zh", key, **values)


class Errors(list[BaseException]):
    """Exceptions no handler caught (python-telegram-bot hands them to the error handlers)."""


@pytest.fixture
async def errors(world: World) -> AsyncIterator[Errors]:
    caught = Errors()

    async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        caught.append(context.error)

    world.runtime.application.add_error_handler(record)
    yield caught


async def dialogue_of(world: World, user: FakeUser) -> tuple[str, str, dict[str, Any]] | None:
    async with world.services.sessions() as session:
        row = await session.get(Dialogue, user.user_id)
        return (row.kind, row.step, dict(row.data)) if row else None


async def report_up_to(world: World, family: FakeUser, step: str) -> None:
    """The report dialogue answered up to (not including) ``step``."""
    order = ["photo", "name", "age", "sex", "description", "place", "time", "contact"]
    answers: dict[str, Any] = {
        "photo": {"text": "/skip"},
        "name": {"text": "Lili"},
        "age": {"text": "4"},
        "sex": {"text": "girl"},
        "description": {"text": "yellow raincoat"},
        "place": {"location": CENTRE},
        "time": {"text": "10 min"},
    }
    await world.says(family, "/report")
    for current in order[: order.index(step)]:
        await world.says(family, **answers[current])
    state = await dialogue_of(world, family)
    assert state is not None and state[1] == step, state


# --- the report dialogue ---------------------------------------------------------------------


async def test_media_where_a_photo_is_expected(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    await world.says(family, "/report")
    for media in NOT_PHOTOS:
        answer = await world.says(family, **media)
        assert answer.body == en("photo_expected"), media
        assert await dialogue_of(world, family) == ("report", "photo", {"photos": []})

    chinese = fake.user(5002, first_name="母亲", language_code="zh-hans")
    await world.says(chinese, "/report")
    answer = await world.says(chinese, voice=True)
    assert answer.body == zh("photo_expected")  # "请发送照片（以图片方式，不要以文件方式）..."
    assert errors == [] and fake.violations == []


async def test_photos_are_kept_by_file_id_never_downloaded_and_at_most_three(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    """No photo is too big for the bot: it never downloads one (Telegram has already resized
    it) and re-sends it by file_id. A large picture sent as a file is a document: refused.
    What it limits is the number of photos."""
    huge = fake.file_store.new_photo(b"\xff\xd8" + b"\0" * 20_000_000)[-1]["file_id"]
    family = fake.user(5001, first_name="Father", language_code="en")
    await world.says(family, "/report")
    for count in (1, 2, 3):
        answer = await world.says(family, photo=huge if count == 1 else True)
        assert en("photo_saved", count=count).replace("<b>", "").replace("</b>", "") in answer.body
    answer = await world.says(family, photo=True)
    assert "That's 3 photos already" in answer.body
    state = await dialogue_of(world, family)
    assert state is not None and len(state[2]["photos"]) == 3 and state[2]["photos"][0] == huge
    assert fake.calls_to("getFile") == [] and fake.upload_count == 0
    assert errors == []


@pytest.mark.parametrize(
    ("step", "wrong", "right", "expected"),
    [
        ("name", "N" * 65, "N" * 64, en("name_expected", max=64)),
        ("description", "d" * 1001, "d" * 1000, en("description_expected", max=1000)),
        ("age", "121", "120", en("age_expected")),
        ("age", "-1", "0", en("age_expected")),
        ("age", "99999999999999999999999", "6岁", en("age_expected")),
        ("age", "4.5", "４", en("age_expected")),  # a full-width digit is a digit
    ],
)
async def test_answers_out_of_bounds_are_asked_again_and_lose_nothing(
    world: World, fake: FakeBotApi, errors: Errors, step: str, wrong: str, right: str, expected: str
) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    await report_up_to(world, family, step)
    kept = await dialogue_of(world, family)
    answer = await world.says(family, wrong)
    assert answer.body == expected
    assert await dialogue_of(world, family) == kept
    await world.says(family, right)
    state = await dialogue_of(world, family)
    assert state is not None and state[1] != step  # the bound itself is accepted
    assert errors == []


async def test_a_superscript_age_is_asked_again(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    await report_up_to(world, family, "age")
    heard = await send(world, family, "³")
    assert heard.says(en("age_expected")), str(heard)
    assert errors == []


async def test_places_outside_the_service_area_are_refused(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_SERVICE_AREA=AREA)
    async with World(fake, settings) as world:
        family = fake.user(5001, first_name="Father", language_code="en")
        await report_up_to(world, family, "place")
        kept = await dialogue_of(world, family)
        answer = await world.says(family, location=FAR_AWAY)
        assert answer.body == en("place_outside")
        assert await dialogue_of(world, family) == kept
        answer = await world.says(family, location=offset(CENTRE, 300))
        assert "When were they last seen" in answer.body

        # a group cannot register outside the area either
        owner = fake.user(1010, first_name="Owner", language_code="en")
        group = fake.group(chat_id=-101, title="Far shop", admins=[owner])
        heard = await send(world, owner, "/register merchant", chat=group)
        prompt = heard.messages[-1]
        fake.send(owner, chat=group, location=FAR_AWAY, reply_to=prompt)
        await world.settle()
        assert fake.last(group).body == en("place_outside")  # type: ignore[union-attr]
        async with world.services.sessions() as session:
            (row,) = (await session.exec(select(Group))).all()
        assert (row.status, row.lat) == ("locating", None)
    assert fake.violations == []


async def test_a_venue_with_a_long_title_still_opens_the_case(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    await report_up_to(world, family, "place")
    when = await world.says(family, venue=(*offset(CENTRE, 40), "Gate " * 120, "Nanjing Road"))
    contact = await world.taps(family, when, "Just now")
    assert contact is not None
    summary = await world.says(family, "/skip")
    query = fake.click(family, summary, "Confirm")
    await fake.wait_for(lambda: query in fake.callback_answers, timeout=3)
    await world.settle()
    assert "is open" in fake.last(family).body  # type: ignore[union-attr]

    # the same title for a sighting, in reply to an alert
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    widened = await world.says(
        fake.user(9000, first_name="Admin", language_code="en"), "/escalate 1"
    )
    assert "stage 2" in widened.body, widened.body
    alert = next(m for m in fake.messages(group) if "MISSING" in m.body)
    keeper = fake.user(7001, first_name="Keeper", language_code="en")
    before = len(fake.messages(group))
    fake.send(keeper, chat=group, venue=(*offset(CENTRE, 80), "Gate " * 120, "x"), reply_to=alert)
    await world.settle()
    assert len(fake.messages(group)) > before  # "thank you"
    assert errors == []


async def test_forwarded_and_edited_messages_in_a_dialogue(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    someone = fake.user(5999, first_name="Someone", language_code="en")
    await report_up_to(world, family, "name")
    kept = await dialogue_of(world, family)
    answer = await world.says(family, "Lili", forward_from=someone)
    assert answer.body == en("forwarded")
    assert await dialogue_of(world, family) == kept

    typed = fake.send(family, text="Lili")
    await world.settle()
    assert (await dialogue_of(world, family))[1] == "age"  # type: ignore[index]
    before = len(fake.messages(family))
    fake.edit(family, typed, "Lily")
    await fake.wait_for(lambda: len(fake.messages(family)) > before)
    await world.settle()
    assert fake.last(family).body == en("edited_ignored")  # type: ignore[union-attr]
    state = await dialogue_of(world, family)
    assert state is not None and state[1] == "age" and state[2]["name"] == "Lili"
    assert errors == []


async def test_an_unknown_command_in_a_dialogue_keeps_the_draft(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    family = fake.user(5001, first_name="Father", language_code="en")
    await report_up_to(world, family, "description")
    kept = await dialogue_of(world, family)
    for command in ("/frobnicate", "/register merchant", "/unregister", "/status"):
        heard = await send(world, family, command)
        assert heard.answered and not heard.says(en("start")), (command, str(heard))
        assert await dialogue_of(world, family) == kept
    assert (await send(world, family, "/frobnicate")).says(en("unknown_command"))
    chinese = fake.user(5002, first_name="母亲", language_code="zh")
    assert (await send(world, chinese, "/frobnicate")).says(zh("unknown_command"))
    assert errors == []


# --- the wrong kind of chat ------------------------------------------------------------------


async def test_private_commands_in_a_group_point_to_the_private_chat(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    member = fake.user(7001, first_name="Shopkeeper", language_code="en")
    group = fake.group(chat_id=-101, title="Tea shop", admins=[], members=[member])
    for command in ("/report", "/mycases", "/seen 1", "/cancel"):
        heard = await send(world, member, command, chat=group)
        assert heard.says(en("private_only")), (command, str(heard))
    for command in ("/start", "/help"):  # what the bot does for a group, told in the group
        heard = await send(world, member, command, chat=group)
        assert heard.says(en("help_group")), (command, str(heard))
    before = await snapshot(world)
    silent = len(fake.messages(group))
    fake.send(member, chat=group, text="/frobnicate")  # other bots' commands: not ours to answer
    fake.send(member, chat=group, text="/report@another_bot")
    await world.settle()
    assert len(fake.messages(group)) == silent
    heard = await send(world, member, "/frobnicate@searchbot_test_bot", chat=group)
    assert heard.says(en("unknown_command_group"))  # addressed to us by name: we answer
    assert changes(before, await snapshot(world)) == []
    assert errors == []


async def test_group_commands_in_private_say_they_work_in_a_group(
    world: World, fake: FakeBotApi
) -> None:
    someone = fake.user(5001, first_name="Father", language_code="en")
    for command in ("/register merchant", "/unregister", "/status"):
        assert (await send(world, someone, command)).says(en("group_only")), command


# --- group membership --------------------------------------------------------------------------


async def test_the_bot_added_by_a_non_admin_explains_and_leaves(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    owner = fake.user(1010, first_name="Owner", language_code="en")
    member = fake.user(7001, first_name="Member", language_code="en")
    group = fake.group(chat_id=-101, title="Tea shop", admins=[owner], members=[member])
    fake.add_bot(group, by=member)
    await fake.wait_for(lambda: fake.calls_to("leaveChat"))
    await world.settle()
    assert fake.last(group).body == en("added_by_non_admin")  # type: ignore[union-attr]
    (leave,) = fake.calls_to("leaveChat")
    assert int(leave.params["chat_id"]) == group.chat_id and leave.ok

    other = fake.group(chat_id=-102, title="Bakery", admins=[owner])
    fake.add_bot(other, by=owner)
    await world.settle()
    assert "Thank you for adding me" in fake.last(other).body  # type: ignore[union-attr]
    assert len(fake.calls_to("leaveChat")) == 1
    assert errors == [] and fake.violations == []


async def test_the_bot_removed_mid_case_deactivates_the_group_and_officers_hear_once(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    officer = await world.officer()
    kept, removed = await world.seed_groups([offset(CENTRE, 50), offset(CENTRE, 90)], -101)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    assert all(any(m.photo_file_id for m in fake.messages(g)) for g in (kept, removed))

    fake.remove_bot(removed, by=fake.user(1020, first_name="Owner", language_code="en"))
    await world.settle()
    async with world.services.sessions() as session:
        statuses = {g.chat_id: g.status for g in (await session.exec(select(Group))).all()}
    assert statuses == {kept.chat_id: "approved", removed.chat_id: "inactive"}

    await world.says(officer, f"/escalate {case_id}")
    await world.says(officer, f"/close {case_id} found")  # its retraction there fails with 403
    await world.settle()
    notices = [m for m in fake.messages(officer) if "can no longer be reached" in m.body]
    assert len(notices) == 1 and "Group 102" in notices[0].body
    assert not any(m.photo_file_id for m in fake.messages(kept))
    assert errors == [] and fake.violations == []


@pytest.mark.parametrize("told", [True, False], ids=["blocked-update", "403-only"])
async def test_a_family_that_blocks_the_bot_mid_case(
    world: World, fake: FakeBotApi, errors: Errors, told: bool
) -> None:
    """``told``: Telegram's my_chat_member reached the bot; otherwise the bot finds out from
    the 403 of the next message to the family."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    if told:
        fake.block(family)
    else:
        fake.private_chat(family).blocked = True
    await world.settle()

    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    keeper = fake.user(7001, first_name="Keeper", language_code="en")
    for north in (80, 120):
        fake.send(keeper, chat=group, location=offset(CENTRE, north), reply_to=alert)
        await world.settle()
    to_officer = [m for m in fake.messages(officer) if "Sighting for" in m.body]
    assert len(to_officer) == 2
    refused = [
        c
        for c in fake.calls
        if int(c.params.get("chat_id", 0)) == family.user_id and c.error_code == 403
    ]
    assert refused  # the bot tried, Telegram said no
    async with world.services.sessions() as session:
        person = await session.get(Person, family.user_id)
        assert person is not None and not person.reachable
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == family.user_id))
        ).all()
        assert {r.status for r in rows} <= {"sent", "dead"}
        case = await session.get(Case, case_id)
        assert case is not None and case.status == "open"
    assert not any("can no longer be reached" in m.body for m in fake.messages(officer))

    # the family comes back: reachable again, and the case is still theirs
    answer = await world.says(family, "/mycases")
    assert f"#{case_id}" in answer.body
    async with world.services.sessions() as session:
        person = await session.get(Person, family.user_id)
        assert person is not None and person.reachable
    assert errors == [] and fake.violations == []


# --- numbers no column can hold --------------------------------------------------------------


def plain(text: str) -> str:
    """What the person reads of an HTML text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def test_commands_with_impossible_numbers_get_a_usage_answer(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    officer = await world.officer()
    admin = fake.users[ADMIN_ID]
    huge = "9" * 24
    failures = []
    for who, command, expected in (
        (officer, f"/approve -{huge}", en("chat_id_usage", command="approve")),
        (officer, f"/reject {huge}", en("chat_id_usage", command="reject")),
        (officer, f"/block {huge}", en("block_usage")),
        (officer, "/unblock ³", en("block_usage")),
        (officer, "/case ³", en("bad_case_ref", example="/case 12")),
        (officer, f"/verify {huge}", en("bad_case_ref", example="/verify 12")),
        (officer, "/seen ٣", en("bad_case_ref", example="/seen 12")),
        (admin, f"/officer add {huge}", en("officer_usage")),
    ):
        heard = await send(world, who, command)
        if not heard.says(plain(expected)):
            failures.append(f"{command}: {heard}")
    assert failures == []
    assert errors == []


async def test_case_numbers_past_the_id_column_get_a_usage_answer(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    """cases.id is INTEGER on PostgreSQL: a number past 2,147,483,647 is no case number."""
    officer = await world.officer()
    number = "2147483648"
    failures = []
    for command, expected in (
        (f"/case {number}", en("bad_case_ref", example="/case 12")),
        (f"/verify {number}", en("bad_case_ref", example="/verify 12")),
        (f"/escalate #{number}", en("bad_case_ref", example="/escalate 12")),
        (f"/export {number}", en("bad_case_ref", example="/export 12")),
        (f"/seen {number}", en("bad_case_ref", example="/seen 12")),
        (f"/close {number} found", en("close_usage")),
        (f"/start seen_{number}", en("start")),
    ):
        heard = await send(world, officer, command)
        if not heard.says(plain(expected)[:40]):
            failures.append(f"{command}: {heard}")
    assert failures == []
    assert errors == []


async def test_a_voice_reply_to_an_alert_gets_an_answer(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    (group,) = await world.seed_groups([offset(CENTRE, 50)], -101)
    await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    alert = next(m for m in fake.messages(group) if m.photo_file_id)
    keeper = fake.user(7001, first_name="Keeper", language_code="en")
    before = await snapshot(world)
    for media in NOT_PHOTOS:
        count = len(fake.messages(group))
        fake.send(keeper, chat=group, reply_to=alert, **media)
        await world.settle()
        assert len(fake.messages(group)) > count, media  # "reply with a location, photo..."
    assert changes(before, await snapshot(world)) == []  # no sighting made of a sticker
    assert errors == []


async def test_a_person_who_blocks_the_bot_before_its_answer_is_marked_gone(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    hasty = fake.user(5001, first_name="Hasty", language_code="en")
    await world.says(hasty, "/start")
    fake.send(hasty, text="/help")
    fake.block(hasty)  # before the bot even fetched the /help
    await world.settle()
    # the answer to /help is refused (403), or never tried: the bot learnt of the block first
    answers = [c for c in fake.calls_to("sendMessage") if int(c.params["chat_id"]) == 5001]
    assert answers[0].ok and all(c.error_code == 403 for c in answers[1:])
    async with world.services.sessions() as session:
        person = await session.get(Person, hasty.user_id)
        assert person is not None and not person.reachable
    assert errors == []


async def test_the_bot_removed_right_after_being_added_is_handled(
    world: World, fake: FakeBotApi, errors: Errors
) -> None:
    owner = fake.user(1010, first_name="Owner", language_code="en")
    member = fake.user(7001, first_name="Member", language_code="en")
    group = fake.group(chat_id=-101, title="Tea shop", admins=[owner], members=[member])
    fake.add_bot(group, by=member)
    fake.remove_bot(group, by=owner)  # before the bot even fetched its adding
    await world.settle()
    assert errors == []
