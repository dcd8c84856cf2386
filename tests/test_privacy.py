"""Privacy: strangers see only what helps them recognise the person; the family and a sighter
never learn who the other is; officers see both; ``/case`` is for officers and the reporter.
Hostile text (markup characters, 5,000 characters, emoji, right-to-left text) reaches Telegram
as valid HTML and is shown literally, within Telegram's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fakegram import TINY_JPEG, FakeBotApi, FakeChat, FakeMessage, FakeUser
from fakegram.markup import utf16_len
from searchbot.domain.messages import Out
from searchbot.models import Case
from searchbot.telegram.transport import send_out
from searchbot.telling import alerts
from searchbot.words.cards import CAPTION_LIMIT, TEXT_LIMIT, case_card, fit
from tests.test_permissions import OFFICERS_ONLY, send
from tests.world import CENTRE, World, offset, world_settings

CHILD = "Xiao Ming"
PHONE = "13800138000"
SIGHTER_PHONE = "+8613912345678"


def family_of(fake: FakeBotApi) -> FakeUser:
    return fake.user(
        5001, first_name="Meiling", last_name="Zhang", username="meiling_zh", language_code="en"
    )


def sighter_of(fake: FakeBotApi, user_id: int = 7001) -> FakeUser:
    return fake.user(
        user_id, first_name="Haoran", last_name="Wu", username="haoran_wu", language_code="en"
    )


def family_identity(family: FakeUser) -> list[str]:
    return [PHONE, "Meiling", "Zhang", "meiling_zh", str(family.user_id)]


def sighter_identity(sighter: FakeUser) -> list[str]:
    return ["Haoran", "Wu", "haoran_wu", str(sighter.user_id), SIGHTER_PHONE]


def everything_seen(fake: FakeBotApi, chat: FakeChat | FakeUser | int) -> str:
    """Every text, caption and button (deleted messages included: they were seen once)."""
    parts = []
    for message in fake.messages(chat, include_deleted=True):
        parts.append(message.body)
        parts.extend(message.button_texts)
        parts.extend(str(button.get("url", "")) for row in message.buttons for button in row)
    return "\n".join(parts)


def alerts_in(fake: FakeBotApi, chat: FakeChat) -> list[FakeMessage]:
    return [m for m in fake.messages(chat, include_deleted=True) if m.photo_file_id]


async def search_with_sightings(
    world: World, fake: FakeBotApi
) -> tuple[FakeUser, FakeUser, FakeUser, FakeChat, int]:
    """An officer, a family's case alerted to one group, and two sightings by the same person:
    one by reply in the group, one through the deep link with a shared contact on the way."""
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = family_of(fake)
    case_id = await world.report(family, name=CHILD)
    await world.says(officer, f"/verify {case_id}")  # sightings reach the family in full
    alert = alerts_in(fake, group)[0]
    sighter = sighter_of(fake)
    fake.send(sighter, chat=group, location=offset(CENTRE, 90), reply_to=alert)
    await world.settle()
    await world.says(sighter, f"/start {world.seen_payload(alert)}")
    photo_ask = await world.says(sighter, location=offset(CENTRE, -120))
    note_ask = await world.taps(sighter, photo_ask, "Skip")
    assert note_ask is not None
    await world.says(sighter, contact=SIGHTER_PHONE)  # "call me back"
    when_ask = await world.says(sighter, "a boy in red by the fountain")
    thanks = await world.taps(sighter, when_ask, "Just now")
    assert thanks is not None and "Thank you" in thanks.body
    await world.settle()
    return officer, family, sighter, group, case_id


# --- what the groups see -----------------------------------------------------------------------


async def test_alerts_carry_no_phone_and_no_name(world: World, fake: FakeBotApi) -> None:
    await world.officer()
    groups = await world.seed_groups([offset(CENTRE, 60), offset(CENTRE, 0, 150)], -101)
    family = family_of(fake)
    case_id = await world.report(family, name=CHILD)
    for group in groups:
        (alert,) = alerts_in(fake, group)
        assert f"#{case_id}" in alert.body and "6 years" in alert.body
        assert "red T-shirt" in alert.body  # what helps recognise them
        seen = everything_seen(fake, group)
        for secret in [CHILD, "Xiao", *family_identity(family)]:
            assert secret not in seen, secret
    assert fake.violations == []


async def test_alerts_show_the_name_only_when_the_station_allows(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_ALERT_SHOW_NAME="true")
    async with World(fake, settings) as world:
        (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
        family = family_of(fake)
        await world.report(family, name=CHILD)
        (alert,) = alerts_in(fake, group)
        assert CHILD in alert.body
        seen = everything_seen(fake, group)
        for secret in family_identity(family):
            assert secret not in seen, secret
    assert fake.violations == []


# --- the family, the sighter and the officers ----------------------------------------------------


async def test_the_family_and_a_sighter_never_learn_who_the_other_is(
    world: World, fake: FakeBotApi
) -> None:
    officer, family, sighter, group, _ = await search_with_sightings(world, fake)
    family_saw = everything_seen(fake, family)
    assert family_saw.count("Sighting for") == 2  # the family heard both sightings
    assert "fountain" in family_saw
    for secret in sighter_identity(sighter):
        assert secret not in family_saw, secret
    sighter_saw = everything_seen(fake, sighter) + everything_seen(fake, group)
    for secret in [CHILD, *family_identity(family)]:
        assert secret not in sighter_saw, secret

    officer_saw = everything_seen(fake, officer)
    for known in [CHILD, PHONE, "Meiling Zhang", str(family.user_id)]:
        assert known in officer_saw, known
    for known in ["Haoran Wu", str(sighter.user_id)]:
        assert known in officer_saw, known
    assert fake.violations == []


async def test_officers_get_the_phone_a_sighter_shares(world: World, fake: FakeBotApi) -> None:
    officer, family, _, _, _ = await search_with_sightings(world, fake)
    assert SIGHTER_PHONE not in everything_seen(fake, family)
    assert SIGHTER_PHONE in everything_seen(fake, officer)


async def test_case_card_only_for_officers_and_the_reporter(world: World, fake: FakeBotApi) -> None:
    officer, family, sighter, _, case_id = await search_with_sightings(world, fake)
    mine = await send(world, family, f"/case {case_id}")
    assert PHONE in mine.texts[-1] and CHILD in mine.texts[-1]
    official = await send(world, officer, f"/case {case_id}")
    assert PHONE in official.texts[-1] and CHILD in official.texts[-1]
    stranger = fake.user(6001, first_name="Stranger", language_code="en")
    for outsider in (sighter, stranger):
        heard = await send(world, outsider, f"/case {case_id}")
        assert heard.says(OFFICERS_ONLY), str(heard)
        assert not any(PHONE in t or CHILD in t for t in heard.texts)


async def test_officer_commands_in_a_merchant_group_show_nothing_private(
    world: World, fake: FakeBotApi
) -> None:
    officer, family, _, group, case_id = await search_with_sightings(world, fake)
    for who in (officer, family):
        for text in (f"/case {case_id}", "/cases", f"/export {case_id}"):
            heard = await send(world, who, text, chat=group, timeout=2)
            for secret in (PHONE, CHILD, "Meiling"):
                assert not any(secret in t for t in heard.texts), (who.first_name, text, secret)
    assert fake.violations == []


# --- hostile text --------------------------------------------------------------------------------

# Markup of every parse mode, an entity, a tag Telegram refuses, emoji with a skin tone (two
# UTF-16 units each), Arabic and Hebrew, and a right-to-left override.
HOSTILE = (
    "<b>bold</b> <script>x</script> *_[link](http://x.invalid)_* `code` &amp; &lt; & "
    "👧🏽 مرحبا שלום \u202eevil\u202c | "
)
HOSTILE_NAME = "<i>Ali</i> *_[ 👧🏽 שלום &amp;"  # within the 64 characters a name may have


def hostile(length: int) -> str:
    return (HOSTILE * (length // len(HOSTILE) + 1))[:length].strip()


async def test_hostile_answers_reach_groups_and_officers_literally(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_ALERT_SHOW_NAME="true")
    description = hostile(1000)
    async with World(fake, settings) as world:
        officer = await world.officer()
        (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
        family = fake.user(5001, first_name="<b>Mum</b> &amp; ✨", language_code="en")
        summary = await world.draft_report(family, name=HOSTILE_NAME, description=description)
        assert HOSTILE_NAME in summary.body and description[:200] in summary.body
        done = await world.taps(family, summary, "Confirm")
        assert done is not None and "is open" in done.body
        await world.says(officer, "/verify 1")  # sightings reach the family in full
        await world.settle()

        (alert,) = alerts_in(fake, group)
        assert HOSTILE_NAME in alert.body
        assert description[:400] in alert.body  # shortened to fit, never re-encoded
        assert utf16_len(alert.body) <= CAPTION_LIMIT
        card = next(m for m in fake.messages(officer) if "New case" in m.body)
        assert HOSTILE_NAME in card.body and "<b>Mum</b> &amp; ✨" in card.body
        assert utf16_len(card.body) <= CAPTION_LIMIT

        sighter = fake.user(7001, first_name="<a href='x'>Eve</a>", language_code="en")
        fake.send(sighter, chat=group, text=hostile(300), reply_to=alert)
        await world.settle()
        sighting = next(m for m in fake.messages(family) if "Sighting for" in m.body)
        assert hostile(300) in sighting.body
        to_officer = next(m for m in fake.messages(officer) if "Sighting for" in m.body)
        assert "<a href='x'>Eve</a>" in to_officer.body
    assert fake.violations == []


def long_case(fake: FakeBotApi, **fields: object) -> Case:
    """A case as the database could hold it, built in memory: 5,000 characters of anything
    fits no column on PostgreSQL, and the cards must cope anyway."""
    photo = fake.file_store.new_photo(TINY_JPEG)[-1]["file_id"]
    values: dict[str, Any] = {
        "id": 77, "reporter_user_id": 5001, "reporter_chat_id": 5001, "language": "en",
        "name": HOSTILE_NAME, "age": 6, "sex": "f", "description": hostile(5000),
        "photo_file_ids": [photo], "place_text": "the east gate", "lat": CENTRE[0],
        "lon": CENTRE[1], "center_lat": CENTRE[0], "center_lon": CENTRE[1],
        "last_seen_at": datetime.now(UTC), "contact": PHONE, "created_at": datetime.now(UTC),
    }  # fmt: skip
    values.update(fields)
    return Case(**values)


async def deliver(world: World, chat: FakeChat | FakeUser, text: str, photo: str | None) -> None:
    bot = world.runtime.application.bot
    await send_out(bot, chat.id, Out(text=text, photo=photo))


async def test_a_5000_character_description_is_cut_to_a_valid_caption(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_ALERT_SHOW_NAME="true")
    async with World(fake, settings) as world:
        (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
        officer = await world.officer()
        case = long_case(fake)
        out = alerts.alert_out(world.services, case, "en", 60.0, "token")
        await deliver(world, group, out.text, out.photo)
        alert = fake.last(group)
        assert alert is not None and alert.caption is not None
        assert utf16_len(alert.body) <= CAPTION_LIMIT
        assert hostile(5000)[:500] in alert.body and HOSTILE_NAME in alert.body
        assert "…" in alert.body

        now = datetime.now(UTC)
        card = fit(lambda d: case_card(case, "en", now, d), case.description or "", TEXT_LIMIT)
        await deliver(world, officer, card, None)
        shown = fake.last(officer)
        assert shown is not None and shown.text is not None
        assert utf16_len(shown.text) <= TEXT_LIMIT and hostile(5000)[:2000] in shown.text
    assert fake.violations == []


async def test_a_5000_character_place_still_gives_a_valid_caption(
    fake: FakeBotApi, database_url: str
) -> None:
    async with World(fake, world_settings(fake, database_url)) as world:
        (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
        case = long_case(fake, place_text=hostile(5000))
        out = alerts.alert_out(world.services, case, "en", 60.0, "token")
        await deliver(world, group, out.text, out.photo)
        alert = fake.last(group)
        assert alert is not None and alert.caption is not None
        assert utf16_len(alert.body) <= CAPTION_LIMIT
    assert fake.violations == []
