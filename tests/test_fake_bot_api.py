"""Tests of the fake Bot API server, through a real python-telegram-bot over real HTTP."""

# PTB and the fake return Optional values everywhere; a None here is a test failure anyway.
# mypy: disable-error-code="union-attr"

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from fakegram import (
    TINY_JPEG,
    EntityParseError,
    FakeBotApi,
    FakeMessage,
    Limits,
    load_spec,
    parse_formatted,
    parse_html,
)
from fakegram.limits import RateLimiter

TOKEN = "123456:TEST"
# PTB 22 itself warns when it builds a RetryAfter with an int retry_after.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@contextlib.asynccontextmanager
async def fake_and_bot(limits: Limits | None = None) -> AsyncIterator[tuple[FakeBotApi, Bot]]:
    """A started fake plus an initialized PTB Bot talking to it; both cleaned up."""
    async with FakeBotApi(token=TOKEN, limits=limits) as fake:
        bot = Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_url)
        async with bot:
            yield fake, bot


def keyboard(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of callback buttons."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in labels_and_data]]
    )


def photo_id(message: FakeMessage) -> str:
    """The file_id of a photo message (fails the test if it has none)."""
    assert message.photo_file_id is not None, message
    return message.photo_file_id


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds (an int in PTB 22 with a deprecation warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def raw_call(fake: FakeBotApi, method: str, **kwargs: Any) -> httpx.Response:
    """Call the fake with raw httpx, bypassing PTB's own checks."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"{fake.base_url}{fake.token}/{method}", **kwargs)


# --------------------------------------------------------------- basics


async def test_get_me_describes_the_bot() -> None:
    async with fake_and_bot() as (fake, bot):
        me = await bot.get_me()
        assert me.id == 123456
        assert me.is_bot
        assert me.username == "searchbot_test_bot"
        assert me.can_join_groups and not me.can_read_all_group_messages
        assert fake.calls[0].method == "getMe" and fake.calls[0].ok
        assert fake.violations == []


async def test_wrong_token_is_unauthorized() -> None:
    async with FakeBotApi(token=TOKEN) as fake:
        bot = Bot("999:WRONG", base_url=fake.base_url)
        with pytest.raises(InvalidToken):
            await bot.get_me()
        assert fake.calls[-1].error_code == 401


async def test_user_text_update_is_delivered_and_confirmed_by_offset() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei", language_code="zh")
        fake.send(mei, text="/start seen_3")
        fake.send(mei, text="hello")

        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates] == ["/start seen_3", "hello"]
        first = updates[0].message
        assert first.from_user.first_name == "Mei" and first.from_user.language_code == "zh"
        assert first.chat.id == 1001 and first.chat.type == "private"
        assert first.entities[0].type == "bot_command" and first.entities[0].length == 6
        assert updates[1].message.message_id == first.message_id + 1

        # Without a higher offset the same updates come again ...
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [u.update_id for u in updates]
        # ... and an offset confirms them.
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
        assert fake.pending_update_count == 0


async def test_group_command_with_bot_username_gets_command_entity() -> None:
    async with fake_and_bot() as (fake, bot):
        lee = fake.user(1002, "Lee")
        shop = fake.group(-1001, "Nanjing Rd shop 3", admins=[1002])
        fake.send(lee, shop, text="/register@searchbot_test_bot merchant")
        (update,) = await bot.get_updates()
        assert update.message.chat.title == "Nanjing Rd shop 3"
        assert update.message.chat.type == "group"
        command = update.message.parse_entities(["bot_command"])
        assert list(command.values()) == ["/register@searchbot_test_bot"]


async def test_long_poll_returns_as_soon_as_an_update_is_queued() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert not poll.done(), "long poll returned before any update existed"
        started = time.monotonic()
        fake.send(mei, text="hi")
        updates = await asyncio.wait_for(poll, 4)
        assert time.monotonic() - started < 4  # woken by the update, not by its 5 s timeout
        assert updates[0].message.text == "hi"


async def test_stop_releases_a_waiting_long_poll_immediately() -> None:
    fake = await FakeBotApi(token=TOKEN).start()
    bot = Bot(TOKEN, base_url=fake.base_url)
    async with bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await fake.stop()
        with contextlib.suppress(NetworkError):
            assert await asyncio.wait_for(poll, 10) == ()
        assert time.monotonic() - started < 10  # released by the stop, not its 30 s timeout


async def test_user_media_updates_parse_in_ptb() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        wu = fake.user(1003, "Wu", username="wu_the_guard")
        photo = fake.send(mei, photo=True, caption="she wore red")
        fake.send(mei, location=(31.2304, 121.4737))
        fake.send(mei, venue=(31.23, 121.47, "Shop 3", "Nanjing Rd 1"))
        fake.send(mei, document=True)
        fake.send(mei, sticker=True)
        fake.send(mei, voice=True)
        fake.send(mei, contact="+8613800000000")
        fake.send(mei, text="fwd", forward_from=wu)
        fake.send(mei, photo=photo_id(photo))
        fake.send(mei, text="about that photo", reply_to=photo)

        messages = [u.message for u in await bot.get_updates()]
        assert messages[0].photo[-1].file_id == photo_id(photo)
        assert len(messages[0].photo) == 2 and messages[0].caption == "she wore red"
        assert messages[1].location.latitude == pytest.approx(31.2304)
        assert messages[2].venue.title == "Shop 3" and messages[2].location is not None
        assert messages[3].document.file_id
        assert messages[4].sticker.is_animated is False
        assert messages[5].voice.mime_type == "audio/ogg"
        assert messages[6].contact.user_id == 1001
        assert messages[7].forward_origin.sender_user.username == "wu_the_guard"
        assert messages[8].photo[-1].file_id == photo_id(photo)
        assert messages[9].reply_to_message.message_id == photo.message_id
        kinds = [m.kind for m in fake.messages(mei, from_bot=False)]
        assert kinds == [
            "photo",
            "location",
            "venue",
            "document",
            "sticker",
            "voice",
            "contact",
            "text",
            "photo",
            "text",
        ]


async def test_user_edit_queues_edited_message() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        message = fake.send(mei, text="red coat")
        fake.edit(mei, message, "blue coat")
        updates = await bot.get_updates()
        assert updates[-1].edited_message.text == "blue coat"
        assert updates[-1].edited_message.edit_date is not None
        assert message.edited and message.text == "blue coat"


# ---------------------------------------------------------- sending media


async def test_send_photo_by_known_file_id_and_unknown_file_id() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        user_photo = fake.send(mei, photo=True)
        assert user_photo.photo_file_id is not None

        sent = await bot.send_photo(
            1001, photo_id(user_photo), caption="<i>seen?</i>", parse_mode="HTML"
        )
        assert sent.photo[-1].file_id == photo_id(user_photo)
        assert sent.caption == "seen?"
        assert fake.last(1001).photo_file_id == photo_id(user_photo)
        assert fake.last(1001).html == "<i>seen?</i>"
        assert fake.upload_count == 0, "sending by file_id is not an upload"

        with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
            await bot.send_photo(1001, "AgACAgIAAxkBAAInvented")
        assert len(fake.bot_messages(1001)) == 1
        assert fake.violations == []


async def test_send_photo_upload_is_counted_and_downloadable() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")
        payload = TINY_JPEG + b"\x00" * 500
        sent = await bot.send_photo(1001, payload, caption="poster")
        assert fake.upload_count == 1
        assert fake.uploaded_bytes == len(payload)
        file_id = sent.photo[-1].file_id
        assert fake.last(1001).photo_file_id == file_id

        # The minted file_id can be reused without uploading again ...
        await bot.send_photo(1001, file_id)
        assert fake.upload_count == 1
        # ... and downloaded through base_file_url.
        telegram_file = await bot.get_file(file_id)
        assert bytes(await telegram_file.download_as_bytearray()) == payload
        assert fake.violations == []


async def test_send_location_venue_and_media_group() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        photos = [photo_id(fake.send(mei, photo=True)) for _ in range(2)]
        location = await bot.send_location(1001, 31.2, 121.4)
        venue = await bot.send_venue(1001, 31.2, 121.4, "Shop 3", "Nanjing Rd")
        album = await bot.send_media_group(
            1001, [InputMediaPhoto(photos[0], caption="front"), InputMediaPhoto(photos[1])]
        )
        assert location.location.longitude == pytest.approx(121.4)
        assert venue.venue.address == "Nanjing Rd"
        assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
        assert [m.kind for m in fake.bot_messages(1001)] == ["location", "venue", "photo", "photo"]
        assert fake.last(1001).location is None and fake.bot_messages(1001)[0].location == (
            pytest.approx(31.2),
            pytest.approx(121.4),
        )
        assert fake.violations == []


async def test_copy_forward_document_and_edit_media() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        fake.group(-1001, "Shop")
        report = fake.send(mei, photo=True, caption="near the fountain")
        copied = await bot.copy_message(
            -1001, 1001, report.message_id, caption="<b>Sighting</b>", parse_mode="HTML"
        )
        assert fake.last(-1001).message_id == copied.message_id
        assert (
            fake.last(-1001).caption == "Sighting"
            and fake.last(-1001).photo_file_id == report.photo_file_id
        )
        forwarded = await bot.forward_message(-1001, 1001, report.message_id)
        assert forwarded.forward_origin.sender_user.id == 1001

        document = await bot.send_document(-1001, b"name,phone\n", filename="volunteers.csv")
        assert document.document.file_name == "volunteers.csv"
        assert fake.upload_count == 1 and fake.last(-1001).kind == "document"

        new_photo = photo_id(fake.send(mei, photo=True))
        edited = await bot.edit_message_media(
            InputMediaPhoto(new_photo, caption="updated"),
            chat_id=-1001,
            message_id=copied.message_id,
        )
        assert edited.photo[-1].file_id == new_photo and edited.caption == "updated"
        with pytest.raises(BadRequest, match="(?i)message to copy not found"):
            await bot.copy_message(-1001, 1001, 999)
        assert fake.violations == []


async def test_reply_parameters() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        question = fake.send(mei, text="where?")
        answer = await bot.send_message(
            1001, "here", reply_parameters=ReplyParameters(question.message_id)
        )
        assert answer.reply_to_message.text == "where?"
        assert fake.last(1001).reply_to_message_id == question.message_id
        with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
            await bot.send_message(1001, "x", reply_parameters=ReplyParameters(999))
        lenient = ReplyParameters(999, allow_sending_without_reply=True)
        assert (
            await bot.send_message(1001, "y", reply_parameters=lenient)
        ).reply_to_message is None


# ------------------------------------------------------------- keyboards


async def test_inline_keyboard_click_delivers_callback_query() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("✅ I saw her", callback_data="seen:42"),
                    InlineKeyboardButton("Not here", callback_data="no:42"),
                ],
                [InlineKeyboardButton("Share", url="https://t.me/searchbot_test_bot?start=c42")],
            ]
        )
        sent = await bot.send_message(1001, "Have you seen her?", reply_markup=markup)
        message = fake.last(1001)
        assert message is not None and message.message_id == sent.message_id
        assert message.button_texts == ["✅ I saw her", "Not here", "Share"]

        query_id = fake.click(mei, message, "saw her")
        (update,) = await bot.get_updates()
        query = update.callback_query
        assert isinstance(query, CallbackQuery)
        assert query.id == query_id and query.data == "seen:42"
        assert query.from_user.id == 1001
        assert query.message.message_id == sent.message_id and query.message.chat.id == 1001
        assert query.message.reply_markup.inline_keyboard[0][0].callback_data == "seen:42"

        assert await query.answer("Thanks!") is True
        assert fake.callback_answers[query_id]["text"] == "Thanks!"
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await query.answer("twice")

        with pytest.raises(LookupError, match="Not here"):
            fake.click(mei, message, "Maybe")
        with pytest.raises(ValueError, match="URL button"):
            fake.click(mei, message, "Share")
        assert fake.violations == []


async def test_callback_data_over_64_bytes_is_a_violation() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")
        too_long = "é" * 33  # 66 bytes in UTF-8
        with pytest.raises(BadRequest):
            await bot.send_message(1001, "pick", reply_markup=keyboard(("a", too_long)))
        assert len(fake.violations) == 1
        assert "callback_data" in fake.violations[0] and "66 bytes" in fake.violations[0]
        assert fake.bot_messages(1001) == []


async def test_force_reply_markup_is_kept_on_the_message() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        await bot.send_message(1001, "What is the shop name?", reply_markup=ForceReply())
        question = fake.last(1001)
        assert question.reply_markup == {"force_reply": True}
        assert question.buttons == []
        fake.send(mei, text="Shop 3", reply_to=question)
        (update,) = await bot.get_updates()
        replied = update.message.reply_to_message
        assert replied.from_user.is_bot and replied.text == "What is the shop name?"


# ------------------------------------------------------- edits and deletes


async def test_edit_semantics() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")
        sent = await bot.send_message(1001, "Searching…", reply_markup=keyboard(("Stop", "stop")))
        edited = await bot.edit_message_text(
            "<b>Found</b>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML"
        )
        assert isinstance(edited, Message) and edited.text == "Found"
        message = fake.last(1001)
        assert message.edited and message.text == "Found" and message.html == "<b>Found</b>"
        assert message.reply_markup is None, "editMessageText without reply_markup drops it"

        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text(
                "<b>Found</b>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML"
            )
        await bot.edit_message_reply_markup(
            1001, sent.message_id, reply_markup=keyboard(("Ok", "ok"))
        )
        assert fake.last(1001).button_texts == ["Ok"]
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=1001, message_id=999)
        assert fake.violations == []


async def test_edit_caption_of_photo() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        file_id = photo_id(fake.send(mei, photo=True))
        sent = await bot.send_photo(1001, file_id, caption="old")
        with pytest.raises(BadRequest, match="(?i)no text"):
            await bot.edit_message_text("new", chat_id=1001, message_id=sent.message_id)
        await bot.edit_message_caption(1001, sent.message_id, caption="new")
        assert fake.last(1001).caption == "new" and fake.last(1001).body == "new"


async def test_delete_semantics() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")
        first = await bot.send_message(1001, "one")
        second = await bot.send_message(1001, "two")
        assert await bot.delete_message(1001, first.message_id) is True

        assert [m.text for m in fake.messages(1001)] == ["two"]
        everything = fake.messages(1001, include_deleted=True)
        assert [m.deleted for m in everything] == [True, False]
        assert fake.last(1001).message_id == second.message_id

        with pytest.raises(BadRequest, match="(?i)message to delete not found"):
            await bot.delete_message(1001, first.message_id)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=1001, message_id=first.message_id)
        assert await bot.delete_messages(1001, [second.message_id, 12345]) is True
        assert fake.last(1001) is None
        assert fake.violations == []


# ------------------------------------------------------------------ HTML


def test_parse_html_rules() -> None:
    parsed = parse_html(
        '<b>bold <i>both</i></b> &lt;tag&gt; &amp; &#128269; <a href="https://x.y/?a=1&amp;b=2">link</a>'
    )
    assert parsed.text == "bold both <tag> & 🔍 link"
    kinds = {(e["type"], e["offset"], e["length"]) for e in parsed.entities}
    assert ("bold", 0, 9) in kinds and ("italic", 5, 4) in kinds
    link = next(e for e in parsed.entities if e["type"] == "text_link")
    assert link["url"] == "https://x.y/?a=1&b=2"
    # 🔍 is two UTF-16 code units, so the link starts at 21, not 20.
    assert link["offset"] == 21

    pre = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    spoiler = parse_html('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>')
    assert [e["type"] for e in spoiler.entities] == ["spoiler", "spoiler"]
    quote = parse_html("<blockquote expandable>q</blockquote>")
    assert quote.entities[0]["type"] == "expandable_blockquote"
    assert parse_formatted("  <b>x</b>  \n", "HTML").text == "x"

    for bad in (
        "a < b",
        "<br>",
        "<b>x",
        "<b><i>x</b></i>",
        "</b>",
        "Q&A",
        "&nbsp;",
        '<span class="x">y</span>',
    ):
        with pytest.raises(EntityParseError):
            parse_html(bad)


def test_markdown_fallback_strips_markup() -> None:
    assert (
        parse_formatted(r"*bold* \_x\_ [link](https://x\.y)", "MarkdownV2").text == "bold _x_ link"
    )
    with pytest.raises(EntityParseError, match="reserved"):
        parse_formatted("Hello.", "MarkdownV2")


async def test_html_is_parsed_and_bad_html_is_rejected() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")
        sent = await bot.send_message(1001, "<b>x</b>", parse_mode="HTML")
        assert sent.text == "x" and sent.entities[0].type == "bold"
        assert fake.last(1001).text == "x" and fake.last(1001).html == "<b>x</b>"

        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(1001, "a < b", parse_mode="HTML")
        assert len(fake.bot_messages(1001)) == 1, "a rejected message must not be stored"
        assert len(fake.violations) == 1 and "can't parse entities" in fake.violations[0]


async def test_text_and_caption_length_limits() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        file_id = photo_id(fake.send(mei, photo=True))
        await bot.send_photo(1001, file_id, caption="c" * 1024)
        with pytest.raises(BadRequest, match="(?i)caption is too long"):
            await bot.send_photo(1001, file_id, caption="c" * 1025)
        # Limits count the visible text, after HTML parsing.
        await bot.send_message(1001, "<b>" + "t" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)too long"):
            await bot.send_message(1001, "t" * 4097)
        with pytest.raises(BadRequest, match="(?i)text is empty"):
            await bot.send_message(1001, "<b> </b>", parse_mode="HTML")
        assert len(fake.bot_messages(1001)) == 2
        assert len(fake.violations) == 3


# ------------------------------------------------------- spec validation


async def test_unknown_parameter_is_rejected_and_recorded() -> None:
    async with FakeBotApi(token=TOKEN) as fake:
        fake.user(1001, "Mei")
        response = await raw_call(
            fake, "sendMessage", json={"chat_id": 1001, "text": "x", "colour": "red"}
        )
        assert response.status_code == 400
        assert response.json()["ok"] is False
        assert fake.violations == ["sendMessage: unknown field 'colour'"]
        assert fake.bot_messages(1001) == []


async def test_missing_required_field_is_a_violation() -> None:
    async with FakeBotApi(token=TOKEN) as fake:
        response = await raw_call(fake, "sendPhoto", data={"photo": "AgAC"})
        assert response.status_code == 400
        assert response.json()["description"].startswith("Bad Request: missing required field")
        assert fake.violations == ["sendPhoto: missing required field 'chat_id'"]


async def test_wrong_types_and_unknown_method() -> None:
    async with FakeBotApi(token=TOKEN) as fake:
        fake.user(1001, "Mei")
        bad_int = await raw_call(
            fake, "sendLocation", data={"chat_id": "1001", "latitude": "north", "longitude": "1"}
        )
        assert bad_int.status_code == 400
        bad_markup = await raw_call(
            fake,
            "sendMessage",
            json={
                "chat_id": 1001,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "no action"}]]},
            },
        )
        assert bad_markup.status_code == 400
        unknown = await raw_call(fake, "sendTelepathy", json={"chat_id": 1001})
        assert unknown.status_code == 404
        assert unknown.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        assert len(fake.violations) == 3
        assert "latitude" in fake.violations[0]
        assert "exactly one action" in fake.violations[1]
        assert fake.violations[2].startswith("sendTelepathy:")


async def test_request_encodings_and_case_insensitive_methods() -> None:
    async with FakeBotApi(token=TOKEN) as fake:
        fake.user(1001, "Mei")
        async with httpx.AsyncClient() as client:
            url = f"{fake.base_url}{fake.token}"
            as_get = await client.get(f"{url}/getme")
            as_form = await client.post(
                f"{url}/sendMessage", data={"chat_id": "1001", "text": "form"}
            )
            as_query = await client.post(f"{url}/sendMessage?chat_id=1001&text=query")
            as_json = await client.post(
                f"{url}/SENDMESSAGE",
                json={
                    "chat_id": 1001,
                    "text": "json",
                    "reply_markup": json.dumps(keyboard(("a", "b")).to_dict()),
                },
            )
        assert as_get.json()["result"]["id"] == 123456
        assert [r.status_code for r in (as_form, as_query, as_json)] == [200, 200, 200]
        assert [m.text for m in fake.bot_messages(1001)] == ["form", "query", "json"]
        assert fake.last(1001).button_texts == ["a"]
        assert [c.method for c in fake.calls] == [
            "getMe",
            "sendMessage",
            "sendMessage",
            "sendMessage",
        ]
        assert fake.violations == []


async def test_commands_are_validated_and_stored() -> None:
    async with fake_and_bot() as (fake, bot):
        await bot.set_my_commands(
            [BotCommand("start", "Start"), BotCommand("report", "Report a sighting")]
        )
        await bot.set_my_commands(
            [BotCommand("register", "Register this group")],
            scope=BotCommandScopeAllGroupChats(),
            language_code="zh",
        )
        assert [c["command"] for c in fake.commands[('{"type": "default"}', "")]["commands"]] == [
            "start",
            "report",
        ]
        assert ('{"type": "all_group_chats"}', "zh") in fake.commands
        assert [c.command for c in await bot.get_my_commands()] == ["start", "report"]
        assert fake.violations == []

        with pytest.raises(BadRequest):
            await bot.set_my_commands([BotCommand("Bad-Name", "x")])
        assert len(fake.violations) == 1 and "Bad-Name" in fake.violations[0]


async def test_responses_conform_to_the_spec() -> None:
    spec = load_spec()
    async with FakeBotApi(token=TOKEN) as fake:
        mei = fake.user(1001, "Mei")
        group = fake.group(-1001, "Shop", admins=[1001])
        photo = fake.send(mei, photo=True)
        results: list[tuple[str, Any]] = []
        async with httpx.AsyncClient() as client:
            url = f"{fake.base_url}{fake.token}"
            for method, params, type_expr in [
                ("getMe", {}, "User"),
                (
                    "sendMessage",
                    {"chat_id": 1001, "text": "<b>x</b>", "parse_mode": "HTML"},
                    "Message",
                ),
                ("sendPhoto", {"chat_id": 1001, "photo": photo_id(photo)}, "Message"),
                (
                    "sendVenue",
                    {"chat_id": 1001, "latitude": 1, "longitude": 2, "title": "t", "address": "a"},
                    "Message",
                ),
                ("getChat", {"chat_id": -1001}, "ChatFullInfo"),
                ("getChatMember", {"chat_id": -1001, "user_id": 1001}, "ChatMember"),
                ("getChatMember", {"chat_id": -1001, "user_id": 123456}, "ChatMember"),
                ("getChatAdministrators", {"chat_id": -1001}, "Array of ChatMember"),
                ("getFile", {"file_id": photo_id(photo)}, "File"),
                ("getWebhookInfo", {}, "WebhookInfo"),
                ("getUpdates", {}, "Array of Update"),
            ]:
                body = (await client.post(f"{url}/{method}", json=params)).json()
                assert body["ok"], (method, body)
                results.append((type_expr, body["result"]))
        fake.remove_bot(group, by=mei)
        for type_expr, result in results:
            assert spec.validate_object(result, type_expr) == [], type_expr
        for update in fake.pending_updates():
            assert spec.validate_object(update, "Update") == []
            Update.de_json(update, None)


# ------------------------------------------------------ chats and members


async def test_kicked_group_answers_forbidden() -> None:
    async with fake_and_bot() as (fake, bot):
        lee = fake.user(1002, "Lee")
        shop = fake.group(-1001, "Shop", admins=[1002])
        await bot.send_message(-1001, "hello group")
        fake.remove_bot(shop, by=lee)
        (update,) = await bot.get_updates()
        assert update.my_chat_member.new_chat_member.status == "kicked"
        assert update.my_chat_member.new_chat_member.user.id == 123456
        with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
            await bot.send_message(-1001, "still there?")

        fake.add_bot(shop, by=lee)
        updates = await bot.get_updates(offset=update.update_id + 1)
        assert updates[0].my_chat_member.new_chat_member.status == "member"
        assert updates[1].message.new_chat_members[0].id == 123456
        await bot.send_message(-1001, "back")
        assert [m.text for m in fake.bot_messages(shop)] == ["hello group", "back"]


async def test_blocked_user_answers_forbidden_until_they_write_again() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        fake.block(mei)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(1001, "hi")
        fake.send(mei, text="/start")
        kinds = [next(k for k in u.to_dict() if k != "update_id") for u in await bot.get_updates()]
        assert kinds == ["my_chat_member", "my_chat_member", "message"]
        assert (await bot.send_message(1001, "welcome back")).text == "welcome back"


async def test_bot_added_to_a_group_it_was_not_in() -> None:
    async with fake_and_bot() as (fake, bot):
        lee = fake.user(1002, "Lee")
        shop = fake.group(-1001, "Shop", admins=[1002], bot_member=False)
        fake.send(lee, shop, text="/register")
        with pytest.raises(Forbidden, match="not a member"):
            await bot.send_message(-1001, "hi")
        fake.add_bot(shop, by=lee)
        updates = await bot.get_updates()
        assert len(updates) == 2, "messages sent before the bot joined are not delivered"
        change = updates[0].my_chat_member
        assert (change.old_chat_member.status, change.new_chat_member.status) == ("left", "member")
        assert change.from_user.id == 1002
        assert (await bot.send_message(-1001, "hi")).chat.id == -1001


async def test_migrated_group_raises_chat_migrated() -> None:
    async with fake_and_bot() as (fake, bot):
        lee = fake.user(1002, "Lee")
        old = fake.group(-1001, "Shop", admins=[1002], members=[1003])
        new = fake.migrate(old, -1009999)
        with pytest.raises(ChatMigrated) as raised:
            await bot.send_message(-1001, "hi")
        assert raised.value.new_chat_id == -1009999
        sent = await bot.send_message(-1009999, "hi again")
        assert sent.chat.type == "supergroup" and new.title == "Shop" and new.members == [1003]
        updates = await bot.get_updates()
        assert updates[0].message.migrate_to_chat_id == -1009999
        assert updates[1].message.migrate_from_chat_id == -1001
        with pytest.raises(ValueError, match="migrated"):
            fake.send(lee, old, text="x")


async def test_unknown_chat_is_not_found() -> None:
    async with fake_and_bot() as (fake, bot):
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(4242, "anyone?")
        assert fake.violations == []


async def test_get_chat_member_statuses() -> None:
    async with fake_and_bot() as (fake, bot):
        for uid, name in [(1, "Owner"), (2, "Admin"), (3, "Member"), (4, "Stranger")]:
            fake.user(uid, name)
        fake.group(-1001, "Shop", admins=[1, 2], members=[3])
        statuses = [(await bot.get_chat_member(-1001, uid)).status for uid in (1, 2, 3, 4, 123456)]
        assert statuses == ["creator", "administrator", "member", "left", "member"]
        assert (await bot.get_chat_member(3, 3)).status == "member"
        admins = await bot.get_chat_administrators(-1001)
        assert [a.user.first_name for a in admins] == ["Owner", "Admin"]
        with pytest.raises(BadRequest, match="(?i)user not found"):
            await bot.get_chat_member(-1001, 777)


async def test_add_member_queues_service_message() -> None:
    async with fake_and_bot() as (fake, bot):
        zhang = fake.user(1005, "Zhang")
        shop = fake.group(-1001, "Shop")
        fake.add_member(shop, zhang)
        (update,) = await bot.get_updates()
        assert update.message.new_chat_members[0].first_name == "Zhang"
        assert (await bot.get_chat_member(-1001, 1005)).status == "member"


# ----------------------------------------------------- failures and limits


async def test_fail_next_answers_the_planned_status() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")
        fake.fail_next(1001, status=502, count=2)
        for _ in range(2):
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(1001, "hi")
        assert (await bot.send_message(1001, "hi")).text == "hi"
        assert [c.error_code for c in fake.calls_to("sendMessage")] == [502, 502, None]
        fake.fail_next(1001, status=500)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.delete_message(1001, fake.last(1001).message_id)
        assert len(fake.bot_messages(1001)) == 1


class FrozenClock:
    """A monotonic clock the test moves by hand: the limits see no real time pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def limited(limits: Limits) -> AsyncIterator[tuple[FakeBotApi, Bot, FrozenClock]]:
    """A fake with ``limits`` on a frozen clock, plus a PTB Bot talking to it."""
    clock = FrozenClock()
    async with FakeBotApi(token=TOKEN, limits=limits, clock=clock) as fake:
        bot = Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.file_url)
        async with bot:
            yield fake, bot, clock


async def refused(call: Any) -> float:
    """Await a call that must be answered 429; its retry_after in seconds."""
    with pytest.raises(RetryAfter) as raised:
        await call
    return retry_seconds(raised.value)


async def test_the_overall_limit_refuses_the_whole_bot_until_retry_after() -> None:
    async with limited(Limits(global_per_second=30, retry_after=2)) as (fake, bot, clock):
        fake.user(1001, "Mei")
        for index in range(31):
            fake.group(-2000 - index, f"Group {index}")
        for index in range(30):
            await bot.send_message(-2000 - index, "alert")
        assert await refused(bot.send_message(-2030, "one too many")) == 2
        clock.now += 1.5  # the window has freed, but the cool-down has not passed
        assert await refused(bot.send_message(1001, "another chat")) == 1
        assert await refused(bot.edit_message_text("x", -2000, 1)) == 1
        assert fake.count_429_by_kind["overall"] == 1
        assert fake.count_429_by_kind["cooldown"] == 2
        assert fake.count_429 == 3
        clock.now += 0.6
        await bot.send_message(1001, "after the cool-down")
        await bot.send_message(-2030, "after the cool-down")
        assert fake.count_429 == 3


async def test_a_chat_stays_refused_until_its_retry_after_has_passed() -> None:
    async with limited(Limits(chat_per_second=1, retry_after=1)) as (fake, bot, clock):
        fake.user(1001, "Mei")
        fake.user(1002, "Wei")
        for _ in range(3):  # a burst of three passes
            await bot.send_message(1001, "ok")
        assert await refused(bot.send_message(1001, "burst exceeded")) == 1
        clock.now += 0.9  # a token is back, but the cool-down is not over
        assert await refused(bot.send_message(1001, "too early")) == 1
        await bot.send_message(1002, "another chat is not held")
        clock.now += 0.2
        await bot.send_message(1001, "after retry_after")
        assert fake.count_429_by_kind["chat"] == 1
        assert fake.count_429_by_kind["cooldown"] == 1


async def test_groups_are_paced_one_a_second_and_twenty_a_minute() -> None:
    async with limited(Limits(group_per_minute=20, chat_per_second=1)) as (fake, bot, clock):
        fake.group(-1001, "Shop")
        for _ in range(3):
            await bot.send_message(-1001, "burst")
        assert await refused(bot.send_message(-1001, "fourth in the same second")) == 1
        assert fake.count_429_by_kind["chat"] == 1
        for _ in range(17):  # one a second: the bucket allows it, the minute fills up
            clock.now += 1.0
            await bot.send_message(-1001, "paced")
        clock.now += 1.0
        # 20 in the last minute: refused until the first of them is a minute old
        assert await refused(bot.send_message(-1001, "twenty-first")) == 42
        assert fake.count_429_by_kind["group"] == 1
        clock.now += 42.0
        await bot.send_message(-1001, "a minute later")


async def test_a_storm_refuses_every_call_for_its_duration() -> None:
    async with limited(Limits()) as (fake, bot, clock):
        fake.user(1001, "Mei")
        fake.group(-1001, "Shop")
        fake.storm(3)
        assert await refused(bot.send_message(1001, "hi")) == 3
        clock.now += 1.2
        assert await refused(bot.send_message(-1001, "hi")) == 2
        assert await refused(bot.get_me()) == 2
        clock.now += 2.0
        await bot.send_message(1001, "after the storm")
        await bot.send_message(-1001, "after the storm")
        assert fake.count_429_by_kind["storm"] == 3


async def test_a_planned_429_starts_the_chats_cool_down() -> None:
    async with limited(Limits(retry_after=5)) as (fake, bot, clock):
        fake.user(1001, "Mei")
        fake.fail_next(1001, status=429)
        assert await refused(bot.send_message(1001, "planned")) == 5
        clock.now += 4.5
        assert await refused(bot.send_message(1001, "still cooling")) == 1
        clock.now += 0.6
        await bot.send_message(1001, "ok")
        assert fake.count_429_by_kind["injected"] == 1
        assert fake.count_429_by_kind["cooldown"] == 1


def test_rate_limiter_windows_slide() -> None:
    now = [100.0]
    limiter = RateLimiter(Limits(global_per_second=2, chat_per_second=1), clock=lambda: now[0])
    limiter.record(None)
    limiter.record(None)
    refusal = limiter.check(None)
    assert refusal is not None and (refusal.retry_after, refusal.kind) == (1, "overall")
    now[0] += 1.01
    assert limiter.check(None) is None
    for _ in range(3):
        assert limiter.check(5) is None
        limiter.record(5)
        now[0] += 0.5  # global window keeps sliding
    assert limiter.check(5) is None, "tokens refill at chat_per_second"


async def test_a_message_older_than_48_hours_cannot_be_deleted() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.group(-1001, "Shop")
        old = await bot.send_photo(-1001, TINY_JPEG, caption="alert")
        fresh = await bot.send_message(-1001, "fresh")
        stored = fake.get_message(-1001, old.message_id)
        assert stored is not None
        fake.backdate(stored, 48 * 3600 + 60)
        with pytest.raises(BadRequest, match="(?i)message can.t be deleted"):
            await bot.delete_message(-1001, old.message_id)
        assert await bot.delete_messages(-1001, [old.message_id, fresh.message_id])
        assert [m.message_id for m in fake.messages(-1001)] == [old.message_id]
        edited = await bot.edit_message_caption(-1001, old.message_id, caption="closed")
        assert isinstance(edited, Message) and edited.caption == "closed"


async def test_latency_is_added_to_calls_except_get_updates() -> None:
    # A whole second of latency: a getUpdates that paid it could not come back sooner, however
    # loaded the machine (the suites run side by side in CI).
    async with fake_and_bot(Limits(latency=1.0)) as (fake, bot):
        fake.user(1001, "Mei")
        started = time.monotonic()
        await bot.send_message(1001, "slow")
        assert time.monotonic() - started >= 1.0
        started = time.monotonic()
        await bot.get_updates(timeout=0)
        assert time.monotonic() - started < 1.0


async def test_webhook_and_concurrent_polls_conflict() -> None:
    async with fake_and_bot() as (fake, bot):
        assert await bot.set_webhook("https://example.invalid/hook")
        assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()

        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        second_bot = Bot(TOKEN, base_url=fake.base_url)
        async with second_bot:
            second = asyncio.create_task(second_bot.get_updates(timeout=1))
            with pytest.raises(Conflict, match="terminated by other getUpdates"):
                await asyncio.wait_for(first, 2)
            assert await second == ()


async def test_allowed_updates_drop_other_update_types() -> None:
    async with fake_and_bot() as (fake, bot):
        mei = fake.user(1001, "Mei")
        await bot.send_message(1001, "pick", reply_markup=keyboard(("a", "a")))
        picker = fake.last(1001)
        assert picker is not None
        fake.click(mei, picker, "a")
        fake.send(mei, text="hello")
        updates = await bot.get_updates(allowed_updates=["message"])
        assert [u.message.text for u in updates] == ["hello"]
        assert len(fake.dropped_updates) == 1
        assert "allowed_updates=['message']" in fake.report("state")


async def test_a_bug_in_the_fake_is_a_json_500_and_a_violation() -> None:
    async with fake_and_bot() as (fake, bot):

        def broken(params: dict[str, Any], files: Any) -> Any:
            raise RuntimeError("boom")

        fake._api.handlers["getChat"] = broken
        with pytest.raises(NetworkError, match="boom"):
            await bot.get_chat(1)
        assert fake.violations == ["getChat: fake Bot API internal error RuntimeError('boom')"]


# -------------------------------------------------------- waiting helpers


async def test_wait_for_and_wait_idle() -> None:
    async with fake_and_bot() as (fake, bot):
        fake.user(1001, "Mei")

        async def later() -> None:
            await asyncio.sleep(0.1)
            await bot.send_message(1001, "done")

        task = asyncio.create_task(later())
        message = await fake.wait_for(lambda: fake.last(1001), timeout=2)
        assert isinstance(message, FakeMessage) and message.text == "done"
        await task
        await fake.wait_idle(quiet=0.1, timeout=2)

        with pytest.raises(AssertionError, match=r"timed out(.|\n)*sendMessage"):
            await fake.wait_for(lambda: fake.last(999), timeout=0.1)
        fake.send(fake.users[1001], text="nobody polls")
        with pytest.raises(AssertionError, match="pending updates: 1"):
            await fake.wait_idle(quiet=0.05, timeout=0.2)


# ------------------------------------------------------ PTB Application


async def test_ptb_application_polls_replies_and_stops_quickly() -> None:
    tasks_before = asyncio.all_tasks()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_text(
            f"Hello <b>{update.effective_user.first_name}</b>", parse_mode="HTML"
        )

    fake = await FakeBotApi(token=TOKEN).start()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)

    mei = fake.user(1001, "Mei")
    fake.send(mei, text="/start")
    reply = await fake.wait_for(lambda: fake.last(mei), timeout=5)
    assert reply.text == "Hello Mei" and reply.html == "Hello <b>Mei</b>"
    await fake.wait_idle(quiet=0.1, timeout=5)

    started = time.monotonic()
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    await fake.stop()
    assert time.monotonic() - started < 1.0
    assert fake.pending_update_count == 0, "the final getUpdates confirms the /start update"
    assert fake.violations == []

    await asyncio.sleep(0)
    leaked = asyncio.all_tasks() - tasks_before - {asyncio.current_task()}
    assert not leaked, leaked
