"""The child's and the family's safety against a hostile world (issue 11, first half): contact
details never reach a group or a sighter, an unverified reporter gets no live positions, and
alerts cannot be forwarded or saved. Case numbers and deep links that tell nothing are in
tests/test_permissions.py, with the other hostile presses."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from fakegram import FakeBotApi, FakeChat, FakeMessage, FakeUser
from searchbot.domain.redaction import MARKER, has_contact, redact
from searchbot.models import Case, Sighting
from searchbot.operations import exports, records
from searchbot.words.texts import say
from tests.test_permissions import changes, snapshot
from tests.world import CENTRE, World, offset, world_settings

# --- what counts as a contact detail -------------------------------------------------------

CONTACTS = [
    "138 0013 8000", "+86 138-0013-8000", "021-12345678", "13800138000", "(021) 1234 5678",
    "１３８００１３８０００", "１３８ ００１３ ８０００", "+1 (555) 123-4567", "+44 7700 900123",
    "一三八零零一三八零零零零", "1 3 8 0 0 1 3 8 0 0 0", "mum.zhang@example.com",
    "ｍｕｍ＠ｅｘａｍｐｌｅ．ｃｏｍ", "@mum_zhang", "t.me/mum_zhang", "https://t.me/+AbCdEf",
    "wa.me/8613800138000", "tg://resolve?domain=mum", "wechat: mum_zhang", "WeChat mumzhang",
    "微信 xyz123", "微信号：mum_zhang", "加我vx mum_1", "QQ 123456", "qq号 12345",
    "Line ID: mumline", "line: mumline", "WhatsApp +8613800138000", "Telegram @mumzhang",
]  # fmt: skip
HARMLESS = [
    "red T-shirt, blue shorts, 110 cm, short hair", "born 2019-05-03", "at 14:30-15:00",
    "31.23040, 121.47370", "身高120厘米，穿红色T恤", "a red line on the sleeve", "WhatsApp me",
    "<b>bold</b> *_[link](http://x.invalid)_* &amp;", "6 岁，男孩", "size 120/60",
]  # fmt: skip


@pytest.mark.parametrize("contact", CONTACTS)
def test_every_way_of_writing_a_contact_is_redacted(contact: str) -> None:
    text = f"red coat. {contact} — please"
    redacted = redact(text)
    assert redacted.startswith("red coat. ") and redacted.endswith(" — please")
    leftover = redacted.removeprefix("red coat. ").removesuffix(" — please")
    assert MARKER in leftover, redacted
    rest = leftover.replace(MARKER, "")
    assert not any(ch.isdigit() for ch in rest) and "mum" not in rest and "@" not in rest, rest
    assert has_contact(text)


@pytest.mark.parametrize("text", HARMLESS)
def test_what_helps_recognise_a_child_stays(text: str) -> None:
    assert redact(text) == text and not has_contact(text)


def test_the_familys_own_short_number_is_redacted_however_written() -> None:
    assert redact("ring 55 123 now", also=["55123"]) == f"ring {MARKER} now"


# --- point 1: contact details out of everything strangers read --------------------------------

DESCRIPTION = (
    "red T-shirt, 110 cm. Call me on 138 0013 8000 or ０２１-１２３４５６７８, "
    "wechat: mum_zhang, mum@example.com, @mumzhang, t.me/mumzhang"
)
FAMILY_SECRETS = [
    "138 0013 8000", "0013", "０２１", "１２３４", "mum_zhang", "mum@example.com", "mumzhang",
]  # fmt: skip
SIGHTER_NOTE = "I have him by the fountain, call 139-1234-5678 or QQ 987654"
SIGHTER_SECRETS = ["139-1234-5678", "1234", "987654"]


def everything_seen(fake: FakeBotApi, chat: FakeChat | FakeUser | int) -> str:
    parts = []
    for message in fake.messages(chat, include_deleted=True):
        parts += [message.body, *message.button_texts]
        parts += [str(b.get("url", "")) for row in message.buttons for b in row]
    return "\n".join(parts)


def alerts_in(fake: FakeBotApi, chat: FakeChat) -> list[FakeMessage]:
    return [m for m in fake.messages(chat, include_deleted=True) if m.photo_file_id]


async def test_contact_details_never_reach_a_group_or_a_sighter(
    fake: FakeBotApi, database_url: str
) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_ALERT_SHOW_NAME="true")
    async with World(fake, settings) as world:
        officer = await world.officer()
        groups = await world.seed_groups([offset(CENTRE, 60), offset(CENTRE, 0, 150)], -101)
        family = fake.user(5001, first_name="Meiling", language_code="en")
        summary = await world.draft_report(family, name="Ming QQ 55443322", description=DESCRIPTION)
        before = len(fake.messages(family))
        fake.click(family, summary, "Confirm")
        await world.settle()
        told = [m.body for m in fake.messages(family)[before:]]
        note = say("en", "contact_police_only", ref="#1")
        assert any("is open" in t for t in told) and told.count(note) == 1, told

        for group in groups:
            (alert,) = alerts_in(fake, group)
            assert "red T-shirt, 110 cm" in alert.body and "Ming" in alert.body
            assert say("en", "contact_removed") in alert.body
            seen = everything_seen(fake, group)
            for secret in [*FAMILY_SECRETS, "55443322", "13800138000"]:
                assert secret not in seen, secret
        card = next(m for m in fake.messages(officer) if "New case" in m.body)
        assert DESCRIPTION in card.body  # officers read the family's words as typed

        # a sighter replying in a group, and one through the link: neither sees the family's
        # contact, and the family (once the case is verified) reads their notes without theirs
        await world.says(officer, "/verify 1")
        sighter = fake.user(7001, first_name="Haoran", language_code="en")
        fake.send(
            sighter, chat=groups[0], text=SIGHTER_NOTE, reply_to=alerts_in(fake, groups[0])[0]
        )
        await world.settle()
        await world.says(sighter, f"/start {world.seen_payload(alerts_in(fake, groups[1])[0])}")
        photo_ask = await world.says(sighter, "by the gate, ring 13912345678")
        note_ask = await world.taps(sighter, photo_ask, "Skip")
        assert note_ask is not None
        when_ask = await world.says(sighter, SIGHTER_NOTE)
        await world.taps(sighter, when_ask, "Just now")
        await world.settle()

        sighter_saw = everything_seen(fake, sighter) + "".join(
            everything_seen(fake, g) for g in groups
        )
        for secret in [*FAMILY_SECRETS, "13800138000"]:
            assert secret not in sighter_saw, secret
        family_sightings = [m.body for m in fake.messages(family) if "Sighting for" in m.body]
        assert len(family_sightings) == 2
        assert all("fountain" in body for body in family_sightings)
        for secret in [*SIGHTER_SECRETS, "13912345678"]:
            assert not any(secret in body for body in family_sightings), secret
        officer_saw = everything_seen(fake, officer)
        assert SIGHTER_NOTE in officer_saw and "13912345678" in officer_saw

        # the exports go through the same redaction
        async with world.services.sessions() as session:
            record = await exports.load_case_record(session, 1, settings.escalation)
        assert record is not None
        for _, document in records.case_documents(settings, record):
            for secret in [*FAMILY_SECRETS, *SIGHTER_SECRETS, "55443322", "13912345678"]:
                assert secret not in document, secret
    assert fake.violations == []


# --- point 2: an unverified reporter gets no live positions -----------------------------------


async def sightings_of(world: World) -> list[Sighting]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(Sighting).order_by(col(Sighting.id)))).all())


async def test_an_unverified_family_hears_only_that_a_sighting_came_in(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(5001, first_name="Meiling", language_code="en")
    case_id = await world.report(family)
    opened = len(fake.messages(family))
    alert = alerts_in(fake, group)[0]

    # three sightings while nobody has verified the reporter: a pin, a photo, a note by link
    keeper = fake.user(7001, first_name="Keeper", language_code="en")
    fake.send(keeper, chat=group, location=offset(CENTRE, 90), reply_to=alert)
    fake.send(keeper, chat=group, photo=True, caption="him at the noodle shop", reply_to=alert)
    await world.settle()
    passer = fake.user(7002, first_name="Passer", language_code="en")
    await world.says(passer, f"/start {world.seen_payload(alert)}")
    photo_ask = await world.says(passer, location=offset(CENTRE, -120))
    note_ask = await world.taps(passer, photo_ask, "Skip")
    assert note_ask is not None
    when_ask = await world.says(passer, "walking to the metro with a woman in black")
    await world.taps(passer, when_ask, "Just now")
    await world.settle()

    held = say("en", "sighting_held_family", ref=f"#{case_id}")
    heard = fake.messages(family)[opened:]
    assert [m.body for m in heard] == [held] * 3
    assert not any(m.location or m.photo_file_id or m.buttons for m in heard)
    cards = [m for m in fake.messages(officer) if "Sighting for" in m.body]
    assert len(cards) == 3 and cards[1].photo_file_id and "noodle shop" in cards[1].body
    assert "metro" in cards[2].body
    assert sum(1 for m in fake.messages(officer) if m.location) >= 3  # pins for both places
    assert all(s.shared_at is None for s in await sightings_of(world))

    # an officer marks the photo credible: that one reaches the family in full
    await world.taps(officer, cards[0], "Not credible")
    await world.taps(officer, cards[1], "Credible")
    await world.settle()
    heard = fake.messages(family)[opened + 3 :]
    assert len(heard) == 1 and heard[0].photo_file_id and "noodle shop" in heard[0].body

    # verifying the case passes on what was held back, except the one judged not credible
    await world.says(officer, f"/verify {case_id}")
    await world.settle()
    heard = fake.messages(family)[opened + 4 :]
    assert [("metro" in m.body, bool(m.location)) for m in heard] == [(True, False), (False, True)]
    first, second, third = await sightings_of(world)
    assert first.shared_at is None and second.shared_at and third.shared_at

    # from now on sightings go to the family in full at once
    fake.send(keeper, chat=group, text="again, by the bakery", reply_to=alert)
    await world.settle()
    assert "bakery" in fake.messages(family)[-1].body
    assert fake.violations == []


# --- protect_content ------------------------------------------------------------------------


async def test_alerts_are_protected_from_forwarding_and_saving(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    (home,) = await world.seed_groups([offset(CENTRE, 60)], -101)
    far = offset(CENTRE, 1600)
    (around,) = await world.seed_groups([offset(far, 100)], -201)
    family = fake.user(5001, first_name="Meiling", language_code="en")
    await world.report(family)
    fake.send(fake.user(7001, first_name="Keeper"), chat=home, location=far,
              reply_to=alerts_in(fake, home)[0])  # fmt: skip
    await world.settle()
    card = next(m for m in fake.messages(officer) if "Sighting for" in m.body)
    await world.taps(officer, card, "Credible")  # "seen here" alerts around the sighting
    await world.settle()
    photos = [c for c in fake.calls if c.method == "sendPhoto" and c.ok]
    to_groups = [c for c in photos if int(c.params["chat_id"]) < 0]
    assert {int(c.params["chat_id"]) for c in to_groups} == {home.chat_id, around.chat_id}
    assert all(c.params.get("protect_content") is True for c in to_groups)
    to_people = [c for c in photos if int(c.params["chat_id"]) > 0]
    assert to_people and not any(c.params.get("protect_content") for c in to_people)
    assert fake.violations == []


async def test_a_station_may_turn_protection_off(fake: FakeBotApi, database_url: str) -> None:
    settings = world_settings(fake, database_url, SEARCHBOT_PROTECT_CONTENT="false")
    async with World(fake, settings) as world:
        (group,) = await world.seed_groups([offset(CENTRE, 60)], -101)
        await world.report(fake.user(5001, first_name="Meiling", language_code="en"))
        (call,) = [c for c in fake.calls if c.method == "sendPhoto" and c.ok
                   and int(c.params["chat_id"]) == group.chat_id]  # fmt: skip
        assert "protect_content" not in call.params
    assert fake.violations == []


async def test_an_unverified_case_is_left_as_it_was_by_its_family_found(
    world: World, fake: FakeBotApi
) -> None:
    """The state check behind the permission test: the family's Found changes no case row."""
    await world.officer()
    await world.seed_groups([offset(CENTRE, 60)], -101)
    family = fake.user(5001, first_name="Meiling", language_code="en")
    case_id = await world.report(family)
    before = await snapshot(world)
    await world.says(family, f"/close {case_id} found")
    after = await snapshot(world)
    assert "cases" not in changes(before, after) and "alerts" not in changes(before, after)
    async with world.services.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.status == "open"
