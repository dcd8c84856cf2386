"""The after-action report of a scripted search: every timeline entry, in order, in the
officers' message at closing and in ``/export N``. Issue 14, part 3."""

from __future__ import annotations

from pathlib import Path

from fakegram import FakeBotApi
from tests.test_playbooks import add_groups, add_landmarks, alert_in
from tests.world import CENTRE, World, offset

TIMELINE = [
    "reported, last seen at",
    "ring 1 (300 m): 2 groups alerted",
    "verified by an officer",
    "exit watched: East Gate",
    "first sighting",
    "ring 2 (1.0 km): 0 groups alerted",
    "matched with the child found alone F1",
    "closed: found",
]


def in_order(text: str, entries: list[str]) -> bool:
    positions = [text.find(entry) for entry in entries]
    return -1 not in positions and positions == sorted(positions)


async def test_the_after_action_report_of_a_scripted_search(
    world: World, fake: FakeBotApi, tmp_path: Path
) -> None:
    await add_landmarks(world, tmp_path)
    officer = await world.officer()
    chats = await add_groups(world, fake, [(-401, "guard", "en", offset(CENTRE, -50, 0)),
                                           (-402, "merchant", "en", offset(CENTRE, 0, 100))])  # fmt: skip
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.says(officer, f"/verify {case_id}")

    guard, keeper = (fake.user(7601, first_name="Guard", language_code="en"),
                     fake.user(7602, first_name="Keeper", language_code="en"))  # fmt: skip
    fake.add_member(chats[-401], guard)
    fake.add_member(chats[-402], keeper)
    for user, chat, button in ((guard, -401, "Exit watched: East Gate"), (keeper, -402, "Checked")):
        query = fake.click(user, alert_in(fake, chat), button)
        await fake.wait_for(lambda query=query: query in fake.callback_answers)
    await world.settle()

    passer = fake.user(7603, first_name="Passer-by", language_code="en")
    await world.says(passer, f"/seen {case_id}")
    photo_ask = await world.says(passer, location=offset(CENTRE, 60, 0))
    await world.taps(passer, photo_ask, "Skip")
    when_ask = await world.says(passer, "crying near the fountain")
    await world.taps(passer, when_ask, "Just now")
    await world.says(officer, f"/escalate {case_id}")

    finder = fake.user(7604, first_name="Finder", language_code="en")
    await world.found_child(finder, offset(CENTRE, 120, 0))
    card = await fake.wait_for(lambda: next(
        (m for m in fake.messages(officer.user_id) if "CHILD FOUND ALONE" in m.body), None))  # fmt: skip
    await world.taps(officer, card, f"Match #{case_id}")
    await world.says(officer, f"/close {case_id} found")
    await world.settle()

    page = next(m for m in fake.messages(officer.user_id) if "After-action report" in m.body)
    assert in_order(page.body, TIMELINE), page.body
    assert "Alerted: 2 groups (1 merchant, 1 guard, 0 volunteer)" in page.body
    assert "Checked — not here: 1 (merchant -402)" in page.body
    assert "Exits watched: East Gate" in page.body
    assert "Sightings: 1" in page.body and "Time to found:" in page.body
    assert not any("After-action" in m.body for m in fake.messages(family.user_id))

    await world.says(officer, f"/export {case_id}")
    await world.settle()
    files = {str(c.params["document"].filename): c.params["document"].data
             for c in fake.calls_to("sendDocument") if c.ok}  # fmt: skip
    text = files[f"case-{case_id}-after-action.txt"].decode()
    assert in_order(text, TIMELINE) and "<b>" not in text
    assert fake.violations == []
