"""Buttons: every action survives the trip through Telegram as the data it was built with, data
no button of ours carries decodes to nothing, and a handler that fails (not a stale button)
reaches the error handler: the person hears "something went wrong" in their language, and the
log has the update id but nothing they sent."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from fakegram import FakeBotApi
from searchbot.models import Case
from searchbot.words.buttons import (
    MAX_BYTES,
    Approve,
    ButtonAction,
    Checked,
    Choice,
    Close,
    CloseFoundReport,
    Escalate,
    Found,
    Judge,
    MapPicture,
    Match,
    Reject,
    TickCheck,
    Verify,
    WatchExit,
    decode,
    is_crowd_press,
)
from searchbot.words.texts import say
from tests.world import ADMIN_ID, World, world_settings

LARGEST_ID = 2**31 - 1

# Each action with the data buttons have always carried: alerts already standing in groups, and
# cards in officers' chats, were sent with it and must keep working.
WIRE = [
    (Checked(12), "ck:12"),
    (Verify(12), "vf:12"),
    (Escalate(12), "es:12"),
    (MapPicture(12), "mp:12"),
    (Found(12), "fd:12"),
    (CloseFoundReport(3), "fc:3"),
    (Approve(-1001234567890), "ap:-1001234567890"),
    (Reject(-5), "rj:-5"),
    (Close(12, "false_alarm"), "cl:12:false_alarm"),
    (Judge(7, True), "sc:7:1"),
    (Judge(7, False), "sc:7:0"),
    (Match(3, 12), "mt:3:12"),
    (WatchExit(12, 4), "ew:12:4"),
    (TickCheck(3, "recognises"), "hc:3:recognises"),
    (Choice("confirm"), "d:confirm"),
    (Choice("edit_photo"), "d:edit_photo"),
    (Match(LARGEST_ID, LARGEST_ID), f"mt:{LARGEST_ID}:{LARGEST_ID}"),
]


@pytest.mark.parametrize(("action", "data"), WIRE, ids=[data for _, data in WIRE])
def test_an_action_travels_as_the_data_buttons_always_carried(
    action: ButtonAction, data: str
) -> None:
    assert action.encode() == data
    assert decode(data) == action
    assert action.button("label").data == data


FORGED = [
    None, "", "zz", "vf", "vf:", "vf:abc", "vf:³", "vf:٣", "vf:0", "vf:-1", "vf:+1", "vf:01",
    " vf:1", "vf:1 ", "vf:1:2", f"vf:{LARGEST_ID + 1}", "vf:" + "9" * 61, "VF:1",
    "ap:0", "ap:-" + "9" * 60, "ap:1.5", "sc:1", "sc:1:2", "sc:1:true", "sc::1",
    "cl:1", "cl:abc", "cl:1:Found", "cl:1:found:now", "cl:1:<b>", "mt:1", "mt:1:x",
    f"mt:1:{LARGEST_ID + 1}", "ew:1:", "hc:1:", "hc:x:id", "fc:", "fd:", "d:", "d:Confirm",
    "d:a:b", "d:" + "a" * 40, "x" * 64, "ck:1" + "0" * 62,
]  # fmt: skip


@pytest.mark.parametrize("data", FORGED)
def test_data_no_button_of_ours_carries_decodes_to_nothing(data: str | None) -> None:
    assert decode(data) is None


@pytest.mark.parametrize(
    "action",
    [Verify(0), Verify(-3), Verify(LARGEST_ID + 1), Approve(0), Close(1, "Found"),
     Close(1, "found:now"), TickCheck(1, ""), Choice("Edit"), Choice("x" * 60)],
)  # fmt: skip
def test_a_button_no_press_could_bring_back_is_never_built(action: ButtonAction) -> None:
    with pytest.raises(ValueError):
        action.encode()


def test_no_action_can_outgrow_telegrams_limit() -> None:
    widest = [Match(LARGEST_ID, LARGEST_ID), WatchExit(LARGEST_ID, LARGEST_ID),
              Approve(-10**14), Close(LARGEST_ID, "f" * 32), TickCheck(LARGEST_ID, "i" * 32)]  # fmt: skip
    for action in widest:
        assert len(action.encode().encode()) <= MAX_BYTES


def test_only_checked_is_a_crowds_press() -> None:
    assert is_crowd_press("ck:12")
    assert not any(is_crowd_press(data) for data in ("vf:12", "ck:abc", "ck:", "d:now", None))


# --- the error handler -----------------------------------------------------------------------

SECRET = "Xiaoming Zhao 13912345678 red jacket"


async def _drop_dialogues(world: World) -> None:
    """Break what the report dialogue needs, through the real database, mid-test."""
    async with world.runtime.engine.begin() as connection:
        await connection.execute(text("DROP TABLE dialogues"))


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_failing_message_handler_apologises_and_logs_no_personal_data(
    world: World, fake: FakeBotApi, caplog: pytest.LogCaptureFixture, language: str
) -> None:
    caplog.set_level(logging.INFO)
    family = fake.user(5001, first_name="Mother", language_code=language)
    await world.says(family, "/report")
    await _drop_dialogues(world)
    before = len(fake.messages(family.user_id))
    fake.send(family, text=SECRET)
    update_id = fake.pending_updates()[-1]["update_id"]
    await fake.wait_for(lambda: len(fake.messages(family.user_id)) > before)
    await world.settle()
    answers = [m.body for m in fake.messages(family.user_id)[before:]]
    assert answers == [say(language, "update_failed")]
    failure = [r for r in caplog.records if r.name == "searchbot.handlers.errors"]
    assert len(failure) == 1 and failure[0].levelno == logging.ERROR
    logged = failure[0].getMessage()
    assert f"update {update_id} failed" in logged
    assert "sqlalchemy.exc." in logged and 'File "' in logged  # the exception's type, its frames
    for secret in (SECRET, "Xiaoming", "13912345678", "Mother"):
        assert secret not in caplog.text, secret


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_failing_button_is_not_a_stale_button(
    world: World, fake: FakeBotApi, caplog: pytest.LogCaptureFixture, language: str
) -> None:
    """Pressed in a private chat: the toast and a message both say "try again" (a broken
    handler is not a button that no longer applies)."""
    family = fake.user(5002, first_name="Father", language_code=language)
    await world.says(family, "/report")
    await world.says(family, "/skip")  # no photo
    await world.says(family, "Lele")
    prompt = await world.says(family, "6")
    assert say(language, "btn_boy") in prompt.button_texts
    await _drop_dialogues(world)
    before = len(fake.messages(family.user_id))
    query_id = fake.click(family, prompt, say(language, "btn_boy"))
    await fake.wait_for(lambda: query_id in fake.callback_answers)
    await world.settle()
    toast = fake.callback_answers[query_id].get("text")
    assert toast == say(language, "update_failed") != say(language, "stale_button")
    answers = [m.body for m in fake.messages(family.user_id)[before:]]
    assert answers == [say(language, "update_failed")]
    assert any("failed" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert fake.violations == []


async def test_a_failing_button_in_a_group_tells_the_presser_only(
    fake: FakeBotApi, database_url: str
) -> None:
    """One member's failed press is a toast for them, not a message for the whole group."""
    desk_id = -900
    settings = world_settings(fake, database_url, SEARCHBOT_OFFICER_CHAT_ID=desk_id)
    async with World(fake, settings) as world:
        desk = fake.group(chat_id=desk_id, title="Station desk", admins=[ADMIN_ID])
        admin = fake.user(ADMIN_ID, first_name="Admin", language_code="zh")
        await world.says(admin, "/start")
        case_id = await world.report(fake.user(5003, first_name="Aunt", language_code="en"))
        verify = say("en", "btn_verify")  # the desk speaks the station's language
        card = next(m for m in fake.messages(desk_id) if verify in m.button_texts)
        async with world.runtime.engine.begin() as connection:
            await connection.execute(text("DROP TABLE audit"))  # verifying writes an entry
        before = len(fake.messages(desk_id))
        query_id = fake.click(admin, card, verify)
        await fake.wait_for(lambda: query_id in fake.callback_answers)
        await world.settle()
        assert fake.callback_answers[query_id].get("text") == say("zh", "update_failed")
        assert fake.messages(desk_id)[before:] == []
        async with world.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None and case.verified_at is None  # nothing half-done
        assert desk.chat_id == desk_id and fake.violations == []
