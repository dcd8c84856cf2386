"""Closing a wide search takes every alert photo down before it writes any closing notice: a
found child's photo leaves 5,000 groups in the time of 5,000 deletions at the free rate, not
of 10,000 calls."""

from __future__ import annotations

from fakegram import FakeBotApi
from tests.world import CENTRE, World, offset


async def test_closing_takes_every_photo_down_before_any_notice(
    world: World, fake: FakeBotApi
) -> None:
    officer = await world.officer()
    # more than a round reads at once (a second of sending, 30), as in a wide ring
    chats = await world.seed_groups([offset(CENTRE, 20 + 6 * i) for i in range(40)])
    family = fake.user(5001, first_name="Mother", language_code="en")
    case_id = await world.report(family)
    await world.settle()
    closing = len(fake.calls)
    await world.says(officer, f"/close {case_id} found")
    await world.settle()
    groups = {chat.chat_id for chat in chats}
    to_groups = [
        c for c in fake.calls[closing:] if c.ok and int(c.params.get("chat_id", 0)) in groups
    ]
    kinds = [c.method for c in to_groups]
    assert kinds == ["deleteMessage"] * 40 + ["sendMessage"] * 40
