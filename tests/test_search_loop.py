"""The whole search loop over HTTP against the fake Bot API: report -> alerts by grid cell ->
sightings -> close. This is issue 2's acceptance test."""

from __future__ import annotations

from fakegram import FakeBotApi
from tests.world import CENTRE, World, offset

# (chat id, title, metres north, metres east, approved?)
DISTRICT = [
    (-101, "Tea shop", 50, 0, True),
    (-102, "Bakery", 0, 120, True),
    (-103, "Mall guards", -200, 0, True),
    (-104, "Toy store", 150, 150, True),  # ~212 m
    (-105, "Pharmacy", 0, -280, True),
    (-106, "Unapproved kiosk", 100, 0, False),  # inside, never approved
    (-107, "Bank guards", 320, 0, True),  # just outside 300 m
    (-108, "Cinema", 0, 600, True),
    (-109, "Volunteers north", 900, 0, True),
    (-110, "Bookshop", -1500, 0, True),
    (-111, "Hotel", 2000, 2000, True),
    (-112, "Far market", 0, -4000, True),
]
IN_RANGE = {-101, -102, -103, -104, -105}


async def build_district(world: World) -> dict[int, object]:
    officer = await world.officer()
    groups = {}
    for chat_id, title, north, east, approved in DISTRICT:
        groups[chat_id] = await world.group(
            chat_id, title, offset(CENTRE, north, east), officer if approved else None
        )
    return {"officer": officer, **groups}


def alerts_in(fake: FakeBotApi, chat_id: int) -> list:
    return [m for m in fake.messages(chat_id) if m.photo_file_id and "MISSING" in m.body]


async def test_report_alerts_sightings_and_close(world: World, fake: FakeBotApi) -> None:
    people = await build_district(world)
    officer = people["officer"]
    family = fake.user(5001, first_name="Mother", language_code="en")

    case_id = await world.report(family)

    # exactly the approved groups within 300 m hold the alert, nearest first
    holding = {chat_id for chat_id, *_ in DISTRICT if alerts_in(fake, chat_id)}
    assert holding == IN_RANGE
    for chat_id in IN_RANGE:
        (alert,) = alerts_in(fake, chat_id)
        assert f"#{case_id}" in alert.caption
        assert "13800138000" not in alert.caption  # never the family's phone
        assert "Xiao Ming" not in alert.caption  # nor the name, by default
        assert any("I saw them" in t for t in alert.button_texts)
        assert any("Checked" in t for t in alert.button_texts)
    alert_sends = [
        c
        for c in fake.calls
        if c.method == "sendPhoto" and c.ok and int(c.params["chat_id"]) in IN_RANGE
    ]
    distances = [-101, -102, -103, -104, -105]  # 50, 120, 200, 212, 280 m
    assert [int(c.params["chat_id"]) for c in alert_sends] == distances
    assert fake.upload_count <= 1  # the photo is re-sent by file_id

    # the officer holds the full card (with the phone), the family knows what was done
    card = next(m for m in fake.messages(officer.user_id) if "New case" in m.body)
    assert "13800138000" in card.body and "Xiao Ming" in card.body
    assert {"Close: found", "☑️ Verify"} <= set(card.button_texts), card.button_texts
    opened = next(m for m in fake.messages(family.user_id) if "is open" in m.body)
    assert "5 groups within 300 m" in opened.body

    # an officer verifies the case: from now on sightings reach the family in full
    await world.says(officer, f"/verify {case_id}")

    # a sighting by reply in a group
    tea_alert = alerts_in(fake, -101)[0]
    shopkeeper = fake.user(7001, first_name="Shopkeeper Wang", language_code="en")
    fake.add_member(people[-101], shopkeeper)
    fake.send(shopkeeper, chat=people[-101], location=offset(CENTRE, 80, 0), reply_to=tea_alert)
    await world.settle()
    family_sightings = [m for m in fake.messages(family.user_id) if "Sighting for" in m.body]
    officer_sightings = [m for m in fake.messages(officer.user_id) if "Sighting for" in m.body]
    assert len(family_sightings) == 1 and len(officer_sightings) == 1
    assert "from the last-seen place" in family_sightings[0].body
    assert "Shopkeeper Wang" not in family_sightings[0].body  # the family never sees the sighter
    assert "Shopkeeper Wang" in officer_sightings[0].body
    pins = [m for m in fake.messages(family.user_id) if m.location]
    assert pins and abs(pins[-1].location[0] - offset(CENTRE, 80, 0)[0]) < 1e-6

    # a sighting through the alert's deep link
    payload = world.seen_payload(tea_alert)
    assert payload != f"seen_{case_id}" and len(payload) == len("seen_") + 16  # a random token
    passer = fake.user(7002, first_name="Passer-by", language_code="en")
    await world.says(passer, f"/start {payload}")
    photo_ask = await world.says(passer, location=offset(CENTRE, -150, 40))
    await world.taps(passer, photo_ask, "Skip")
    when_ask = await world.says(passer, "walking towards the metro with a woman in black")
    thanks = await world.taps(passer, when_ask, "Just now")
    assert thanks is not None and "Thank you" in thanks.body
    family_sightings = [m for m in fake.messages(family.user_id) if "Sighting for" in m.body]
    officer_sightings = [m for m in fake.messages(officer.user_id) if "Sighting for" in m.body]
    assert len(family_sightings) == 2 and len(officer_sightings) == 2
    assert "metro" in family_sightings[-1].body
    assert "Passer-by" not in family_sightings[-1].body

    # "checked - not here" is counted on the officer's card
    guards_alert = alerts_in(fake, -103)[0]
    guard = fake.user(7003, first_name="Guard", language_code="en")
    world_query = fake.click(guard, guards_alert, "Checked")
    await fake.wait_for(lambda: world_query in fake.callback_answers)
    status = await world.says(officer, f"/case {case_id}")
    assert "1 checked" in status.body and "2 sightings" in status.body

    # closing: every alert photo gone, a closing notice in each group, everyone told
    await world.says(officer, f"/close {case_id} found reunited at the east gate")
    await world.settle()
    for chat_id in IN_RANGE:
        assert alerts_in(fake, chat_id) == []
        assert any("search is over" in m.body for m in fake.messages(chat_id))
    for chat_id, *_ in DISTRICT:
        assert not any(m.photo_file_id for m in fake.messages(chat_id))
    assert any("closed: found" in m.body for m in fake.messages(family.user_id))
    assert any("closed as" in m.body for m in fake.messages(officer.user_id))

    assert fake.violations == []
