"""A child found alone, end to end over HTTP against the fake Bot API: the finder's report,
the officers' card with its candidates, Match, the handover checklist, and the reverse order
(found first, family second). Issue 14, part 1."""

from __future__ import annotations

import time

from sqlmodel import col, select

from fakegram import FakeBotApi
from searchbot.models import AuditEntry, FoundReport
from tests.world import CENTRE, World, offset

GUARDS = -201


def found_cards(fake: FakeBotApi, chat_id: int) -> list:
    return [m for m in fake.messages(chat_id) if "CHILD FOUND ALONE" in m.body]


async def found_reports(world: World) -> list[FoundReport]:
    async with world.services.sessions() as session:
        return list((await session.exec(select(FoundReport).order_by(col(FoundReport.id)))).all())


async def test_a_guard_finds_a_child_near_an_open_case(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    guards = await world.group(GUARDS, "Mall guards", offset(CENTRE, 100, 0), officer, "guard")
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/verify {case_id}")  # unverified, the family waits for the place
    far = await world.report(fake.user(5002, first_name="Other", language_code="en"),
                             offset(CENTRE, 0, 2500))  # fmt: skip

    # /found in the group answers with a deep link, never a form in front of the group
    guard = fake.user(7101, first_name="Guard Zhang", language_code="en")
    fake.add_member(guards, guard)
    fake.send(guard, chat=guards, text="/found")
    prompt = await fake.wait_for(
        lambda: next((m for m in fake.messages(GUARDS) if "Found a child alone?" in m.body), None)
    )
    link = next(b["url"] for row in prompt.buttons for b in row if "url" in b)
    assert link.endswith(f"?start=found_{GUARDS}")

    await world.found_child(guard, offset(CENTRE, 150, 0), group_chat_id=GUARDS, phone=None)
    fake.send(guard, text="13900139000")  # the last answer: the report goes out
    sent = time.monotonic()
    card = await fake.wait_for(lambda: (found_cards(fake, officer.user_id) or [None])[0])
    print(
        f"the found card reached the officer {time.monotonic() - sent:.2f} s after the last answer"
    )
    thanks = await fake.wait_for(lambda: next(
        (m for m in fake.messages(guard.user_id) if "(F1)" in m.body), None))  # fmt: skip
    assert "The police have your report (F1)" in thanks.body
    # the found card: everything, the photo (officers only), the candidates nearest first
    assert card.photo_file_id is not None
    assert "13900139000" in card.body and "Guard Zhang" in card.body and "Mall guards" in card.body
    candidates = card.body.split("could be this child")[1]
    assert f"#{case_id}:" in candidates and f"#{far}:" not in candidates  # 2.5 km in minutes: no
    assert card.button_texts[0] == f"🤝 Match #{case_id}"

    # Match: the family is sent to the child, without the finder's identity
    await world.taps(officer, card, f"Match #{case_id}")
    told = [m for m in fake.messages(family.user_id) if "may be yours" in m.body]
    assert len(told) == 1
    assert "An officer is on the way. Please wait there" in told[0].body
    for secret in ("Guard Zhang", "13900139000", "7101", "Mall guards"):
        assert secret not in told[0].body
    assert any("police are on the way" in m.body for m in fake.messages(guard.user_id))
    checklist = next(
        m for m in fake.messages(officer.user_id) if "Before the child leaves" in m.body
    )

    # the handover checklist, ticked with buttons, kept in the audit log
    await world.taps(officer, checklist, "recognises")
    checklist = fake.last(officer.user_id)
    await world.taps(officer, checklist, "ID checked")
    checklist = fake.last(officer.user_id)
    done = await world.taps(officer, checklist, "photo of them together")
    assert done is not None and "checklist complete" in done.body
    status = await world.says(officer, f"/case {case_id}")
    assert "Matched with the child found alone F1" in status.body and "3/3" in status.body
    async with world.services.sessions() as session:
        ticks = (await session.exec(select(AuditEntry).where(
            AuditEntry.action == "handover_check"))).all()  # fmt: skip
    assert [t.detail["item"] for t in ticks] == ["recognises", "id", "photo"]
    assert {t.case_id for t in ticks} == {case_id}

    # closing the case closes the found report too
    await world.says(officer, f"/close {case_id} found")
    (report,) = await found_reports(world)
    assert report.status == "closed" and report.matched_case_id == case_id

    # group members never see the found child's photo
    for chat_id in (GUARDS,):
        assert all(m.photo_file_id != report.photo_file_id
                   for m in fake.messages(chat_id, include_deleted=True))  # fmt: skip
    group_photos = [c for c in fake.calls if c.method == "sendPhoto"
                    and int(c.params["chat_id"]) < 0 and c.params.get("photo") == report.photo_file_id]  # fmt: skip
    assert group_photos == []
    assert fake.violations == []


async def test_found_first_then_the_family_reports(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    passer = fake.user(7201, first_name="Passer-by", language_code="en")
    await world.found_child(passer, offset(CENTRE, -120, 40), photo=False)
    card = (await fake.wait_for(lambda: found_cards(fake, officer.user_id)))[0]
    assert "No open case matches yet" in card.body

    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    both = await fake.wait_for(
        lambda: next(
            (m for m in fake.messages(officer.user_id) if "could be the child" in m.body), None
        )
    )
    assert f"New case #{case_id} could be the child found alone F1" in both.body
    assert "CHILD FOUND ALONE F1" in both.body and "Xiao Ming" in both.body  # both cards
    await world.taps(officer, both, f"Match #{case_id}")
    assert any("may be yours" in m.body for m in fake.messages(family.user_id))
    (report,) = await found_reports(world)
    assert report.status == "matched"
    # a second officer's tap changes nothing
    again = fake.click(officer, both, f"Match #{case_id}")
    await fake.wait_for(lambda: again in fake.callback_answers)
    await world.settle()
    assert sum("may be yours" in m.body for m in fake.messages(family.user_id)) == 1
    assert fake.violations == []


async def test_only_officers_may_match(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    finder = fake.user(7301, first_name="Finder", language_code="en")
    await world.found_child(finder, offset(CENTRE, 50, 0))
    card = (await fake.wait_for(lambda: found_cards(fake, officer.user_id)))[0]
    stranger = fake.user(7302, first_name="Stranger", language_code="en")
    query = fake.click(stranger, card, f"Match #{case_id}")
    await fake.wait_for(lambda: query in fake.callback_answers)
    await world.settle()
    assert not any("may be yours" in m.body for m in fake.messages(family.user_id))
    (report,) = await found_reports(world)
    assert report.status == "open"


async def test_the_found_dialogue_answers_bad_input(world: World, fake: FakeBotApi) -> None:
    finder = fake.user(7401, first_name="Finder", language_code="zh")
    await world.says(finder, "/found")
    age = await world.says(finder, "/skip")
    assert "几岁" in age.body
    again = await world.says(finder, "forty")
    assert "0 到 18" in again.body
    await world.says(finder, "5")
    nowhere = await world.says(finder, "x" * 1001)
    assert "请点" in nowhere.body or "按钮" in nowhere.body


async def test_found_reports_are_forgotten_after_the_retention_period(
    world: World, fake: FakeBotApi
) -> None:
    from datetime import timedelta

    from searchbot.cases import found

    officer = await world.officer()
    finder = fake.user(7501, first_name="Finder", language_code="en")
    await world.found_child(finder, offset(CENTRE, 50, 0))
    card = (await fake.wait_for(lambda: found_cards(fake, officer.user_id)))[0]
    await world.taps(officer, card, "Close this report")
    (report,) = await found_reports(world)
    assert report.status == "closed"
    days = world.settings.retention_days
    real = world.services.clock
    try:
        world.services.clock = lambda: real() + timedelta(days=days - 1)
        assert await found.forget(world.services) == 0
        world.services.clock = lambda: real() + timedelta(days=days + 1)
        assert await found.forget(world.services, dry_run=True) == 1
        assert await found.forget(world.services) == 1
    finally:
        world.services.clock = real
    assert await found_reports(world) == []


async def test_a_long_found_card_goes_as_photo_then_text(world: World, fake: FakeBotApi) -> None:
    officer = await world.officer()
    case_id = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    finder = fake.user(7601, first_name="<b>Finder</b>", language_code="en")
    await world.found_child(finder, offset(CENTRE, 50, 0), description="<i>crying</i> " + "x" * 980,
                            with_whom="w" * 200)  # fmt: skip
    card = (await fake.wait_for(lambda: found_cards(fake, officer.user_id)))[0]
    assert card.photo_file_id is None and f"Match #{case_id}" in " ".join(card.button_texts)
    assert "<i>crying</i>" in card.body and "<b>Finder</b>" in card.body  # literal, not markup
    before = fake.messages(officer.user_id)[fake.messages(officer.user_id).index(card) - 1]
    assert before.photo_file_id is not None
    assert fake.violations == []
