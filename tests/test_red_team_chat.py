"""The second red team's findings on the chat side (issue 24), end to end over HTTP against
the fake Bot API: each hostile or careless move changes nothing and reveals nothing.

- a forged **Exit watched** from a merchant group, or for an exit the alert did not offer;
- **Match** on a case no officer has verified: the family learns the place only once verified;
- a found child's report, its officers' card and pin, and the finder's id, after the purge;
- **Exit watched** after a case's purge: who pressed it;
- a conversation's answer to somebody who blocked the bot: the words it carried;
- a found-child link naming a group the finder is not in.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from fakegram import FakeBotApi, FakeMessage, FakeUser
from searchbot.cases import found
from searchbot.models import AuditEntry, ExitWatch, FoundReport, Landmark, OutboxMessage
from searchbot.operations import retention
from searchbot.words.texts import say
from tests.test_permissions import changes, press, snapshot
from tests.test_playbooks import add_groups, add_landmarks, alert_in
from tests.test_retention import RETENTION, age_case
from tests.world import CENTRE, World, offset

FINDER_PHONE = "13900139000"
FAMILY_PHONE = "13812345678"
FINDER_NAME = "Guard Zhang"
CHILD_WORDS = "says his name is Ming"


async def landmark_ids(world: World) -> dict[str, int]:
    async with world.services.sessions() as session:
        return {lm.name: lm.id or 0 for lm in (await session.exec(select(Landmark))).all()}


async def exit_watches(world: World) -> list[ExitWatch]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(ExitWatch).order_by(col(ExitWatch.id)))).all())


def found_card(fake: FakeBotApi, chat_id: int) -> FakeMessage:
    return next(m for m in fake.messages(chat_id) if "CHILD FOUND ALONE" in m.body)


async def reports(world: World) -> list[FoundReport]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(FoundReport))).all())


# --- 3. Exit watched from the wrong group, or for an exit not offered -------------------------


async def test_exit_watched_counts_only_from_a_guard_group_for_the_exits_its_alert_offered(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    await add_landmarks(world, tmp_path)
    officer = await world.officer()
    chats = await add_groups(world, fake, [
        (-321, "guard", "en", offset(CENTRE, -50, 0)),
        (-322, "merchant", "en", offset(CENTRE, 60, 0)),
    ])  # fmt: skip
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    doors = await landmark_ids(world)
    guard = fake.user(7501, first_name="Guard", language_code="en")
    keeper = fake.user(7502, first_name="Keeper", language_code="en")
    fake.add_member(chats[-321], guard)
    fake.add_member(chats[-322], keeper)
    guards_alert, shop_alert = alert_in(fake, -321), alert_in(fake, -322)
    assert not any("🚪" in t for t in shop_alert.button_texts)

    forged: list[tuple[str, FakeUser, str, FakeMessage]] = [
        ("a merchant group's member, on its own alert", keeper,
         f"ew:{case_id}:{doors['East Gate']}", shop_alert),
        ("a guard, for the car park 2 km away that the alert did not offer", guard,
         f"ew:{case_id}:{doors['Far Car Park']}", guards_alert),
        ("a guard, for a landmark that is no exit", guard,
         f"ew:{case_id}:{doors['Old Tea House']}", guards_alert),
    ]  # fmt: skip
    toasts = []
    for what, user, data, on in forged:
        before = await snapshot(world)
        heard = await press(world, user, data, on)
        assert changes(before, await snapshot(world)) == [], what
        assert await exit_watches(world) == [], what
        toasts.append(heard.toast)
    assert toasts == [say("en", "exit_not_offered")] * len(forged)
    status = await world.says(officer, f"/case {case_id}")
    assert "0 of 3 watched" in status.body

    # the press on the alert's own button still counts
    pressed = fake.click(guard, guards_alert, "Exit watched: East Gate")
    await fake.wait_for(lambda: pressed in fake.callback_answers)
    await world.settle()
    (watch,) = await exit_watches(world)
    assert watch.landmark_id == doors["East Gate"] and watch.group_chat_id == -321
    assert fake.violations == []


# --- 4. Match on an unverified case -----------------------------------------------------------


async def test_match_on_an_unverified_case_holds_the_place_until_an_officer_verifies(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    finder = fake.user(7301, first_name="Finder", language_code="en")
    where = offset(CENTRE, 120, 0)
    await world.found_child(finder, where)
    card = await fake.wait_for(lambda: found_card(fake, officer.user_id))
    before = len(fake.messages(family.user_id))
    await world.taps(officer, card, f"Match #{case_id}")

    told = fake.messages(family.user_id)[before:]
    assert told, "the family hears that a child was found"
    assert all(m.location is None for m in told), "no pin before verification"
    coordinates = f"{where[0]:.3f}"
    assert not any(coordinates in m.body or "Please wait there" in m.body for m in told)
    assert any("police are on the way" in m.body for m in fake.messages(finder.user_id))
    matched = next(m for m in fake.messages(officer.user_id) if "matched with" in m.body)
    assert f"#{case_id} is not verified" in matched.body and "Verify" in matched.button_texts[0]

    await world.taps(officer, matched, "Verify")
    await world.settle()
    now = fake.messages(family.user_id)[before:]
    place = [m for m in now if "may be yours" in m.body and "Please wait there" in m.body]
    assert len(place) == 1
    assert sum(m.location is not None for m in now) == 1
    await world.says(officer, f"/verify {case_id}")  # a second verification sends nothing more
    assert sum(m.location is not None for m in fake.messages(family.user_id)) == 1
    assert fake.violations == []


async def test_match_on_a_verified_case_tells_the_family_at_once(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/verify {case_id}")
    finder = fake.user(7301, first_name="Finder", language_code="en")
    await world.found_child(finder, offset(CENTRE, 120, 0))
    card = await fake.wait_for(lambda: found_card(fake, officer.user_id))
    await world.taps(officer, card, f"Match #{case_id}")
    told = [m for m in fake.messages(family.user_id) if "Please wait there" in m.body]
    assert len(told) == 1
    assert sum(m.location is not None for m in fake.messages(family.user_id)) == 1


# --- 5. A found child's report after the retention period -------------------------------------


async def outbox_text(world: World) -> str:
    async with world.services.sessions() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return repr([row.model_dump() for row in rows])


async def test_a_found_report_leaves_no_card_pin_or_finder_after_it_is_forgotten(
    world: World, fake: FakeBotApi, database_url: str
) -> None:
    officer = await world.officer()
    finder = fake.user(7501, first_name=FINDER_NAME, language_code="en")
    await world.found_child(finder, offset(CENTRE, 50, 0), description=f"red coat, {CHILD_WORDS}")
    card = await fake.wait_for(lambda: found_card(fake, officer.user_id))
    assert card.photo_file_id is not None
    (report,) = await reports(world)
    photo = report.photo_file_id
    assert photo is not None
    held = await outbox_text(world)
    for secret in (FINDER_PHONE, FINDER_NAME, CHILD_WORDS, photo):
        assert secret in held, secret  # the officers' card and pin are outbox rows
    await world.taps(officer, card, "Close this report")

    world.clock.advance(RETENTION + timedelta(days=1))
    assert await found.forget(world.services) == 1
    assert await reports(world) == []
    left = await outbox_text(world)
    for secret in (FINDER_PHONE, FINDER_NAME, CHILD_WORDS, photo, f"{report.lat:.5f}"):
        assert secret not in left, secret
    async with world.services.sessions() as session:
        entries = (await session.exec(select(AuditEntry))).all()
    assert not any(e.actor_user_id == finder.user_id for e in entries)
    assert any(e.action == "found" for e in entries)  # that there was one stays
    if database_url.startswith("sqlite"):  # the write-ahead log folded and emptied
        path = Path(database_url.split("///", 1)[1])
        wal = path.with_name(path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert FINDER_PHONE.encode() not in path.read_bytes()


# --- 6. Exit watched after the purge ----------------------------------------------------------


async def test_a_purged_case_keeps_no_id_of_the_guard_who_watched_an_exit(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    await add_landmarks(world, tmp_path)
    officer = await world.officer()
    chats = await add_groups(world, fake, [(-321, "guard", "en", offset(CENTRE, -50, 0))])
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    guard = fake.user(7501, first_name="Guard", language_code="en")
    fake.add_member(chats[-321], guard)
    pressed = fake.click(guard, alert_in(fake, -321), "Exit watched: East Gate")
    await fake.wait_for(lambda: pressed in fake.callback_answers)
    await world.says(officer, f"/close {case_id} found")
    await age_case(world, case_id, RETENTION + timedelta(days=1))
    assert (await retention.purge(world.services)).cases == [case_id]

    (watch,) = await exit_watches(world)  # the figure stays: an exit was watched, when
    assert watch.user_id != guard.user_id
    async with world.services.sessions() as session:
        entries = (await session.exec(select(AuditEntry))).all()
    assert [e for e in entries if e.action == "exit_watched"]
    assert not any(e.actor_user_id == guard.user_id for e in entries)
    assert "East Gate" not in repr([e.detail for e in entries if e.case_id == case_id])


# --- 7. Words queued for somebody who blocked the bot -----------------------------------------


async def test_an_answer_cut_off_by_a_block_keeps_no_words(world: World, fake: FakeBotApi) -> None:
    family = fake.user(5001, first_name="Mother", language_code="en")
    await world.says(family, "/report")
    await world.says(family, "/skip")
    await world.says(family, "Qiaoqiao Lianhua")
    sex = await world.says(family, "6", asks="Boy")
    await world.taps(family, sex, "Boy")
    await world.says(family, "red coat, yellow boots")
    when = await world.says(family, location=CENTRE, asks="Just now")
    await world.taps(family, when, "Just now")
    fake.send(family, text=FAMILY_PHONE)  # the summary (name, description, phone) is queued…
    fake.block(family)  # …and the family blocks the bot before it goes
    await world.settle()
    assert not any("Qiaoqiao" in m.body for m in fake.messages(family.user_id))
    async with world.services.sessions() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    dead = [r for r in rows if r.chat_id == family.user_id and r.status == "dead"]
    assert dead, "the answer died with the block"
    stored = repr([r.model_dump() for r in rows])
    for words in ("Qiaoqiao", "yellow boots", FAMILY_PHONE):
        assert words not in stored, words


# --- 9. A found-child link naming somebody else's group ---------------------------------------


async def test_a_found_report_names_a_group_only_when_the_finder_is_in_it(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    guards = await world.group(-201, "Mall guards", offset(CENTRE, 100, 0), officer, "guard")
    stranger = fake.user(7601, first_name="Stranger", language_code="en")
    await world.found_child(stranger, offset(CENTRE, 50, 0), group_chat_id=-201)
    card = await fake.wait_for(lambda: found_card(fake, officer.user_id))
    assert "Mall guards" not in card.body and "via group" not in card.body
    (report,) = await reports(world)
    assert report.group_chat_id is None

    member = fake.user(7602, first_name=FINDER_NAME, language_code="en")
    fake.add_member(guards, member)
    await world.settle()
    await world.found_child(member, offset(CENTRE, 60, 0), group_chat_id=-201)
    cards = await fake.wait_for(
        lambda: [m for m in fake.messages(officer.user_id) if "CHILD FOUND ALONE F2" in m.body]
    )
    assert "via group Mall guards" in cards[0].body
    assert fake.violations == []
