"""Borders over HTTP: a ring that crosses into a neighbour's area alerts the neighbour's groups
and tells the neighbour's officers once, with Join; sightings reach them only after Join; they
cannot close or widen; after a hand-off the new owner closes and the old one cannot; closing
retracts every alert photo in both stations' groups."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from fakegram import FakeBotApi, FakeMessage
from searchbot.models import AuditEntry, Case, CaseStatus, Sighting
from searchbot.models.stations import Station, reached
from searchbot.words.buttons import Join
from searchbot.words.texts import say
from tests.stations_district import EAST_DESK, EAST_OF_BORDER, WEST_DESK, district
from tests.test_permissions import OFFICERS_ONLY, press, send
from tests.world import CENTRE, World, offset

JOIN = say("en", "btn_join")


def notices(fake: FakeBotApi, chat: int, case: int) -> list[FakeMessage]:
    """The border notices of ``case`` in ``chat`` (their visible head: "Case #N of ...")."""
    return [m for m in fake.messages(chat) if f"Case #{case} of Nanjing Road" in m.body]


async def test_a_ring_across_the_border_joins_hands_over_and_closes(
    world: World, fake: FakeBotApi
) -> None:
    d = await district(world, fake)
    west_shop = await world.group(-101, "Tea shop", offset(CENTRE, 50), d.west_chief)
    east_shop = await world.group(-102, "Bund kiosk", EAST_OF_BORDER, d.east_chief)
    family = fake.user(5001, first_name="Mother", language_code="en")
    case = await world.report(family)
    assert any(m.photo_file_id for m in fake.messages(west_shop))
    assert not any(m.photo_file_id for m in fake.messages(east_shop))  # 700 m: not ring 1
    assert notices(fake, EAST_DESK, case) == []

    await send(world, d.west_chief, f"/verify {case}")
    await world.later(timedelta(hours=1, seconds=1))  # ring 2, 1 km: across the border
    assert any(m.photo_file_id for m in fake.messages(east_shop))
    (notice,) = notices(fake, EAST_DESK, case)
    assert JOIN in notice.button_texts and f"#{case}" in notice.body
    assert "13800138000" not in notice.body  # the family's phone stays with the owner
    assert notices(fake, WEST_DESK, case) == []

    # a sighting before Join: the owner only
    alert = next(m for m in fake.messages(west_shop) if m.photo_file_id)
    member = fake.user(7001, first_name="Shopkeeper Wang", language_code="en")
    fake.add_member(west_shop, member)
    fake.send(member, chat=west_shop, location=offset(CENTRE, 80), reply_to=alert)
    await world.settle()
    before_join = len(fake.messages(EAST_DESK))
    west_sightings = len(fake.messages(WEST_DESK))
    assert not any("Shopkeeper" in m.body for m in fake.messages(EAST_DESK))

    # Join names its station: pressed (or forged) by someone who does not act for it, nothing
    async with world.services.sessions() as session:
        bund = (await session.exec(select(Station).where(Station.name == "The Bund"))).one()
    forged = await press(world, d.west_chief, Join(case, bund.id or 0).encode())
    assert forged.says(OFFICERS_ONLY), str(forged)
    async with world.services.sessions() as session:
        assert all(r.joined_at is None for r in await reached(session, case))

    await world.taps(d.east_chief, notice, JOIN)
    fake.send(member, chat=west_shop, location=offset(CENTRE, 90), reply_to=alert)
    await world.settle()
    assert any("Shopkeeper" in m.body for m in fake.messages(EAST_DESK)[before_join:])
    assert len(fake.messages(WEST_DESK)) > west_sightings
    # a joined station may judge the sightings it gets
    credible = say("en", "btn_credible")
    card = next(m for m in fake.messages(EAST_DESK) if credible in m.button_texts)
    await world.taps(d.east_chief, card, credible)
    async with world.services.sessions() as session:
        judged = (await session.exec(select(Sighting).where(Sighting.credible == True))).all()  # noqa: E712
        assert [s.judged_by for s in judged] == [d.east_chief.user_id]

    # the neighbour may not close or widen; a third ring tells it nothing new
    for text in (f"/close {case} found", f"/escalate {case}"):
        heard = await send(world, d.east_chief, text, chat=d.east_desk)
        assert heard.says(say("en", "not_your_station", ref=f"#{case}")), (text, str(heard))
    await send(world, d.west_chief, f"/escalate {case}")
    assert len(notices(fake, EAST_DESK, case)) == 1

    handed = await send(world, d.west_chief, f"/handover {case} The Bund")
    assert handed.says(say("en", "handed_over", ref=f"#{case}", station="The Bund"))
    await world.settle()
    moved = say("en", "handover_notice", ref=f"#{case}", old="Nanjing Road", new="The Bund",
                by="Chief West")  # fmt: skip
    assert any(moved in m.body for m in fake.messages(WEST_DESK))
    assert any(f"#{case}" in m.body and "handed over to you" in m.body
               for m in fake.messages(EAST_DESK))  # fmt: skip
    refused = await send(world, d.west_chief, f"/close {case} found")
    assert refused.says(say("en", "not_your_station", ref=f"#{case}"))
    closed = await send(world, d.east_chief, f"/close {case} found", chat=d.east_desk)
    assert not closed.refused()
    await world.settle()

    async with world.services.sessions() as session:
        row = await session.get(Case, case)
        assert row is not None and row.status == CaseStatus.CLOSED
        query = select(AuditEntry).where(
            AuditEntry.case_id == case, AuditEntry.action == "handover"
        )
        (entry,) = (await session.exec(query)).all()
        assert entry.detail["to_station"] == "The Bund"
    for shop in (west_shop, east_shop):
        photos = [m for m in fake.messages(shop, include_deleted=True) if m.photo_file_id]
        assert photos and all(m.deleted for m in photos), shop.title
    assert fake.violations == []


async def test_a_child_found_across_the_border_reaches_both_stations(
    world: World, fake: FakeBotApi
) -> None:
    """The family reported in Nanjing Road; the child is found in The Bund, 700 m away: the
    card goes to The Bund (where the child is) and to Nanjing Road (the candidate's owner)."""
    d = await district(world, fake)
    case = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    await world.settle()
    finder = fake.user(6101, first_name="Guard Zhou", language_code="en")
    await world.found_child(finder, EAST_OF_BORDER)
    await world.settle()
    for desk in (WEST_DESK, EAST_DESK):
        cards = [m for m in fake.messages(desk) if f"Match #{case}" in " ".join(m.button_texts)]
        assert len(cards) == 1, desk
    # a child found deep in The Bund, no candidate: Nanjing Road does not hear of it
    before = len(fake.messages(WEST_DESK))
    await world.found_child(fake.user(6102, first_name="Ms Lin", language_code="en"),
                            offset(EAST_OF_BORDER, 0, 2500), age="12", sex="Girl")  # fmt: skip
    await world.settle()
    assert len(fake.messages(WEST_DESK)) == before
    assert d.east_desk is not None


async def test_the_owner_hands_over_with_the_button_on_the_joined_notice(
    world: World, fake: FakeBotApi
) -> None:
    """A case reported 175 m from the border: its first ring already reaches The Bund. The
    Bund joins; Nanjing Road's notice of it has "Hand over to The Bund"; The Bund cannot press
    it for them; Nanjing Road's press moves the case."""
    d = await district(world, fake)
    case = await world.report(fake.user(5001, first_name="Mother", language_code="en"),
                              offset(CENTRE, 0, 300))  # fmt: skip
    (notice,) = notices(fake, EAST_DESK, case)
    await world.taps(d.east_chief, notice, JOIN)
    label = say("en", "btn_hand_over", station="The Bund")
    joined = next(m for m in fake.messages(WEST_DESK) if label in m.button_texts)
    forged = await world.taps(d.east_chief, joined, label)  # not the owner's officer
    refusal = say("en", "not_your_station", ref=f"#{case}")
    assert forged is not None and refusal in forged.body
    async with world.services.sessions() as session:
        row = await session.get(Case, case)
        assert row is not None and row.station_id is not None
        west_id = row.station_id
    await world.taps(d.west_chief, joined, label)
    async with world.services.sessions() as session:
        row = await session.get(Case, case)
        assert row is not None and row.station_id != west_id
    assert any("handed over to you" in m.body for m in fake.messages(EAST_DESK))
    assert fake.violations == []


async def test_the_card_hands_over_with_a_choice_of_stations(
    world: World, fake: FakeBotApi
) -> None:
    d = await district(world, fake)
    case = await world.report(fake.user(5001, first_name="Mother", language_code="en"))
    ask = say("en", "btn_hand_over_ask")
    card = next(m for m in fake.messages(WEST_DESK) if ask in m.button_texts)
    choices = await world.taps(d.west_chief, card, ask)
    label = say("en", "btn_hand_over", station="The Bund")
    assert choices is not None and label in choices.button_texts
    assert say("en", "btn_hand_over", station="Nanjing Road") not in choices.button_texts
    await world.taps(d.west_chief, choices, label)
    async with world.services.sessions() as session:
        row = await session.get(Case, case)
        assert row is not None
        assert (await world.services.officers.owner(session, row)).name == "The Bund"
    assert fake.violations == []
